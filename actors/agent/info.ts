import { z } from 'zod';
import { TroupeError, addressSchema, type AgentPii } from '../../protocol/index.js';
import type { ActorRef } from '../kernel/index.js';
import { describeProvider, type ModelProvider } from './model/index.js';
import type { AgentStatus } from './messages.js';
import { AGENT_NAME_RE, type AgentLimits, type AgentSkill, type AgentSpecData } from './spec.js';
import type { HeldRuns } from './passivation.js';
import type { AgentActors } from './agent-supervisor.js';
import type { AgentTool } from './tools.js';
import type { UpstreamGuard, UpstreamState } from './upstream/guard.js';
import type { ToolSpec } from '../../protocol/index.js';

/** An agent as the registry (and `GET /api/v1/agents`) shows it. Never includes an API key. */
export interface AgentInfo {
  name: string;
  description: string;
  instructions: string;
  /** Upstream model id. */
  model: string;
  provider: { name: string; offline: boolean; baseURL?: string };
  tools: string[];
  skills: AgentSkill[];
  limits: AgentLimits;
  supervision: AgentSpecData['supervision'];
  temperature?: number;
  /** Address of the agent actor. */
  address: string;
  node: string;
  /** `stopped`: its supervisor gave up (runs fail with TROUPE_ERR_AGENT_STOPPED, 503). */
  status: 'running' | 'stopped';
  stoppedReason?: string;
  /**
   * Present (true) while the agent is passivated: idle, its actor stopped and its memory in
   * LMDB. It is still `running`: its next message activates it again.
   */
  passivated?: true;
  /** Created over HTTP (or `agents.create`): its spec is persisted and it comes back at start. */
  durable: boolean;
  /** Its conversations are journaled (the node has a data dir). */
  persistent: boolean;
  createdAt: number;
  /** LLM-aware supervision: circuit breaker, 429 pause, budget usage, kill switch, drill fault. */
  upstream?: UpstreamState;
  /** An external (proxy) agent's remote A2A URL (never its headers). */
  a2a?: { url: string };
  /** The spec's PII policy of context leaving this agent. */
  pii?: AgentPii;
  /** Human approval before the agent acts in a workflow (from its spec). */
  approval?: AgentSpecData['approval'];
}

/** An agent with the live figures of its actor (when it is running and answered). */
export type AgentDescription = AgentInfo & { live?: Pick<AgentStatus, 'activeRuns' | 'queuedRuns' | 'conversations' | 'consecutiveFailures'> };

/**
 * An agent as the cluster directory reports it: what `/v1/models` shows (not the
 * instructions, limits or skills, so a node's whole list stays small), checked on arrival.
 */
export const agentSummarySchema = z.object({
  name: z.string().regex(AGENT_NAME_RE),
  description: z.string().max(4_096),
  model: z.string().max(256),
  provider: z.object({ name: z.string().max(128), offline: z.boolean() }),
  tools: z.array(z.string().max(128)).max(256),
  address: addressSchema,
  node: z.string().min(1).max(128),
  status: z.enum(['running', 'stopped']),
  createdAt: z.number(),
});
export type AgentSummary = z.infer<typeof agentSummarySchema>;

/**
 * A description from another node's directory, checked on arrival: the summary's fields
 * are held to their schema, the rest (instructions, limits, skills) passes as JSON data.
 */
export const agentDescriptionSchema = agentSummarySchema.extend({
  instructions: z.string().max(200_000),
  stoppedReason: z.string().max(2_000).optional(),
}).loose();

/** The summary of an agent of this node. */
export function summaryOf(a: AgentInfo): AgentSummary {
  return {
    name: a.name, description: a.description.slice(0, 4_096), model: a.model, provider: { name: a.provider.name, offline: a.provider.offline },
    tools: a.tools, address: a.address, node: a.node, status: a.status, createdAt: a.createdAt,
  };
}

/** An agent as the registry keeps it. */
export interface AgentEntry {
  data: AgentSpecData;
  provider: ModelProvider;
  guard: UpstreamGuard;
  model: string;
  durable: boolean;
  journalKey: string | undefined;
  createdAt: number;
  supervisor: ActorRef;
  agent: ActorRef;
  status: 'running' | 'stopped';
  stoppedReason?: string;
  /** Its resolved tools (code tools and registered ones), kept for the next activation. */
  tools: ReadonlyMap<string, AgentTool>;
  toolSpecs: ReadonlyArray<ToolSpec>;
  /** `<source>:<ref>` tool names, resolved by their source at every run. */
  toolRefs: readonly string[];
  /** Idle time after which the agent is passivated; 0: never (it has no journal, or it is off). */
  passivateAfterMs: number;
  /** Its actor is stopped and its memory in LMDB; the next message to its address spawns it again. */
  passivated: boolean;
  /** Written by the agent actor (see AgentActivity). */
  lastActiveAt: number;
  runs: HeldRuns | undefined;
  /** Its supervisor's behaviour while its actors are spawned (wakes the agent actor on its first message). */
  actors: AgentActors | undefined;
}

/** An entry's public description (never an API key). */
export function infoOf(e: AgentEntry, node: string): AgentInfo {
  const d = describeProvider(e.provider);
  return {
    name: e.data.name,
    description: e.data.description,
    instructions: e.data.instructions,
    model: e.model,
    provider: { name: d.provider, offline: d.offline, ...(d.baseURL ? { baseURL: d.baseURL } : {}) },
    tools: [...e.data.tools],
    skills: e.data.skills,
    limits: e.data.limits,
    supervision: e.data.supervision,
    ...(e.data.temperature !== undefined ? { temperature: e.data.temperature } : {}),
    ...(e.data.approval !== undefined ? { approval: e.data.approval } : {}),
    address: e.agent.address,
    node,
    status: e.status,
    ...(e.stoppedReason ? { stoppedReason: e.stoppedReason } : {}),
    ...(e.passivated ? { passivated: true as const } : {}),
    durable: e.durable,
    persistent: e.journalKey !== undefined,
    createdAt: e.createdAt,
    upstream: e.guard.state(),
    ...(e.data.a2a ? { a2a: { url: e.data.a2a.url } } : {}),
    ...(e.data.pii ? { pii: e.data.pii } : {}),
  };
}

/** The coded error of a run for an agent whose supervisor gave up on it (503). */
export function stoppedError(name: string, reason: string | undefined, node?: string): TroupeError {
  return new TroupeError('TROUPE_ERR_AGENT_STOPPED', `agent ${name} is stopped${node ? ` on node ${node}` : ''}: ${reason ?? 'its supervisor gave up'}; create it again (or restart the node) to bring it back`, {
    details: { agent: name, ...(node ? { node } : {}) },
  });
}
