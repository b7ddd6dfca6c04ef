import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import { TOOL_NAME_RE, delegatesSchema, delegationOptionsSchema } from '../../protocol/index.js';
import { agentPiiSchema, externalAgentSpecSchema } from '../../protocol/index.js';
import { validateTool, type AgentTool } from './tools.js';
import { DEFAULT_MEMORY_BOUNDS } from './memory.js';
import { agentBudgetSchema } from './upstream/budget.js';
import { MAX_PASSIVATE_AFTER_MS } from './passivation.js';

/**
 * A tool reference served by a tool source rather than a registered tool:
 * `<source>:<ref>`, e.g. `mcp:everything/*` or `mcp:memory/create_entities`. The source
 * (a module, see `AgentRegistry.registerToolSource`) resolves it to tools at every run.
 */
export const TOOL_REF_RE = /^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9_.\/*-]{1,200}$/;

/** Agent names are model ids and actor names: keep them to a safe, URL-friendly set. */
export const AGENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ms = (def: number, max = 3_600_000) => z.number().int().positive().max(max).default(def);

/** Where an agent's model comes from; absent means the node's provider (env or offline). */
export const agentProviderSchema = z.strictObject({
  /** `auto`: OpenAI-compatible when baseURL or apiKey is set, else the offline model. */
  kind: z.enum(['auto', 'openai', 'offline']).default('auto'),
  baseURL: z.url().optional(),
  apiKey: z.string().min(1).max(4096).optional(),
  maxTokensField: z.enum(['auto', 'max_tokens', 'max_completion_tokens']).optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

/** A skill as A2A agent cards list it; a bare string is shorthand for `{ id, name }`. */
export const skillSchema = z.union([
  z.string().min(1).max(128).transform((s) => ({ id: s, name: s, tags: [] as string[] })),
  z.strictObject({
    id: z.string().min(1).max(128),
    name: z.string().min(1).max(256),
    description: z.string().max(4096).optional(),
    tags: z.array(z.string().max(64)).max(32).default([]),
    examples: z.array(z.string().max(1024)).max(32).optional(),
  }),
]);

/** Restart policy of the agent's own supervisor (see the README's Supervision section). */
export const agentSupervisionSchema = z.strictObject({
  maxRestarts: z.number().int().nonnegative().max(1000).default(5),
  withinMs: ms(60_000, 86_400_000),
  backoff: z.strictObject({
    minMs: z.number().nonnegative().max(3_600_000).default(100),
    maxMs: z.number().nonnegative().max(3_600_000).default(10_000),
  }).prefault({}),
});

/** How the agent treats its upstream model: circuit breaker and 429 pauses (LLM-aware supervision). */
export const agentUpstreamSchema = z.strictObject({
  breaker: z.strictObject({
    /** Consecutive 5xx/timeouts (after the provider's own retries) that open the breaker. */
    failures: z.number().int().min(1).max(1000).default(5),
    /** Time open before one probe call is let through (half-open). */
    halfOpenAfterMs: ms(30_000),
  }).prefault({}),
  /** A 429 asking for a longer wait fails the run (TROUPE_ERR_MODEL_RATE_LIMITED) instead of pausing it. */
  maxPauseMs: ms(5_000),
  /** The pause after a 429 that names no wait. */
  defaultPauseMs: ms(1_000),
});

/** Bounds of an agent; every one has a finite default. */
export const agentLimitsSchema = z.strictObject({
  /** Model calls per run (the tool loop); past it the run fails with TROUPE_ERR_AGENT_MAX_TURNS. */
  maxTurns: z.number().int().min(1).max(100).default(8),
  /** Completion tokens per model call (a request's max_tokens may lower it). */
  maxTokens: z.number().int().min(1).max(1_000_000).optional(),
  /** Time limit of one run, tool calls included (TROUPE_ERR_AGENT_TIMEOUT). */
  timeoutMs: ms(120_000),
  /** Runs executing at once; more wait in a queue. */
  maxConcurrentRuns: z.number().int().min(1).max(1024).default(16),
  /** Runs waiting; past it a run is refused with TROUPE_ERR_AGENT_BUSY. */
  maxQueuedRuns: z.number().int().min(0).max(100_000).default(256),
  /** Runs one caller (API key) may have waiting; past it its runs are refused with TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED (429). Default: maxQueuedRuns. */
  maxQueuedRunsPerCaller: z.number().int().min(1).max(100_000).optional(),
  /** Longest wait for a slot when the request names none (`x-troupe-queue-deadline-ms`); past it TROUPE_ERR_AGENT_QUEUE_TIMEOUT (503). */
  queueDeadlineMs: z.number().int().min(0).max(3_600_000).default(30_000),
  /** Consecutive failed model calls after which the agent crashes so its supervisor restarts it. */
  maxConsecutiveFailures: z.number().int().min(1).max(1000).default(5),
  /** Conversations kept in memory; the least recently used is dropped past it. */
  maxConversations: z.number().int().min(1).max(100_000).default(1000),
  /** Messages kept per conversation; the oldest whole turns are dropped past it. */
  maxHistoryMessages: z.number().int().min(2).max(10_000).default(200),
  /** Bytes (JSON) of history kept per conversation; the oldest whole turns are dropped past it. */
  maxHistoryBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(DEFAULT_MEMORY_BOUNDS.maxHistoryBytes),
  /** Approximate tokens of history kept per conversation (bounds the prompt a conversation sends upstream). */
  maxHistoryTokens: z.number().int().min(64).max(10_000_000).default(DEFAULT_MEMORY_BOUNDS.maxHistoryTokens),
  /** Bytes of history the agent keeps over all its conversations; least recently used ones are dropped past it. */
  maxMemoryBytes: z.number().int().min(1024).max(16 * 1024 * 1024 * 1024).default(DEFAULT_MEMORY_BOUNDS.maxMemoryBytes),
});

/**
 * A human approval before the agent acts in a workflow: the orchestrator suspends each of
 * its DAG nodes (only those whose `action_type` is in `actions`, when given) until someone
 * decides, or `autoAction` is taken after `timeoutMs`.
 */
export const agentApprovalSchema = z.strictObject({
  required: z.boolean().default(true),
  /** Only nodes of these action types (`write_data`, `external_call`, ...); absent: every node of the agent. */
  actions: z.array(z.string().min(1).max(64)).min(1).max(32).optional(),
  autoAction: z.enum(['reject', 'approve', 'escalate']).default('reject'),
  timeoutMs: z.number().int().min(1).max(30 * 86_400_000).default(86_400_000),
  /** Who may decide (ids or roles); empty: anyone with access to the API. */
  approvers: z.array(z.string().min(1).max(128)).max(32).default([]),
  why: z.string().max(2_000).optional(),
  risks: z.array(z.string().max(500)).max(32).default([]),
  /** The state of the workflow's A2A task while it waits: `input-required` (default) or `auth-required`. */
  a2aState: z.enum(['input-required', 'auth-required']).optional(),
});
export type AgentApproval = z.output<typeof agentApprovalSchema>;

/**
 * The serializable part of an agent spec: what `POST /api/v1/agents` and the config file
 * accept and what is persisted. Tools here are names of registered tools (`clock`,
 * `calculator`, or ones the library registered).
 */
export const agentSpecSchema = z.strictObject({
  name: z.string().regex(AGENT_NAME_RE, 'agent names: 1-64 of [A-Za-z0-9._-], starting with a letter or digit'),
  description: z.string().max(4096).default(''),
  instructions: z.string().max(200_000).default('You are a helpful assistant.'),
  /** Upstream model id; default: the provider's (TROUPE_MODEL, or troupe-offline). */
  model: z.string().min(1).max(256).optional(),
  provider: agentProviderSchema.optional(),
  tools: z.array(z.union([z.string().regex(TOOL_NAME_RE), z.string().regex(TOOL_REF_RE)])).max(64).default([]),
  skills: z.array(skillSchema).max(64).default([]),
  supervision: agentSupervisionSchema.prefault({}),
  limits: agentLimitsSchema.prefault({}),
  temperature: z.number().min(0).max(2).optional(),
  /** Token and cost budgets per minute and per day (none by default). */
  budget: agentBudgetSchema.prefault({}),
  upstream: agentUpstreamSchema.prefault({}),
  /**
   * Idle time (ms) after which the agent is passivated: its actor stops, its memory stays in
   * LMDB and its next message spawns it again. 0: never. Default: the node's (10 minutes).
   * An agent without a journal (a node without a data dir) is never passivated.
   */
  passivateAfterMs: z.number().int().min(0).max(MAX_PASSIVATE_AFTER_MS).optional(),
  /** Agents this one may hand tasks to with the built-in `delegate` tool (names, or '*'); none by default. */
  delegates: delegatesSchema.optional(),
  /** Timeout, retries, breaker, depth limit and fallback of its delegations. */
  delegation: delegationOptionsSchema.prefault({}),
  /** A proxy of a remote A2A agent: its model calls go to that server (see the external agents module). */
  a2a: externalAgentSpecSchema.optional(),
  /** PII policy of context leaving this agent (see the pii module). */
  pii: agentPiiSchema.optional(),
  /** Human approval before the agent acts in a workflow (the orchestrator's DAG nodes). */
  approval: agentApprovalSchema.optional(),
}).superRefine((s, ctx) => {
  if (s.a2a === undefined) return;
  // a proxy's answers come from the remote agent: no model provider, and no tools of its own
  if (s.provider !== undefined) ctx.addIssue({ code: 'custom', path: ['provider'], message: 'an external (a2a) agent has no model provider' });
  if (s.tools.length > 0) ctx.addIssue({ code: 'custom', path: ['tools'], message: 'an external (a2a) agent has no tools of its own' });
});

export type AgentSpecData = z.output<typeof agentSpecSchema>;
export type AgentLimits = z.output<typeof agentLimitsSchema>;
export type AgentSkill = z.output<typeof skillSchema>;

/**
 * What `node.spawnAgent(spec)` accepts: the serializable spec, where `tools` may also hold
 * code tools (objects with a zod `parameters` schema and `execute`).
 *
 * @example
 * node.spawnAgent({ name: 'math', instructions: 'Use the add tool.', tools: [addTool, 'clock'] });
 */
export type AgentSpecInput = Omit<z.input<typeof agentSpecSchema>, 'tools'> & {
  tools?: Array<string | AgentTool>;
};

/** A validated spec plus the code tools passed with it. */
export interface ParsedAgentSpec {
  data: AgentSpecData;
  codeTools: AgentTool[];
}

/**
 * Validate a spec once: TROUPE_ERR_AGENT_INVALID_SPEC naming the field otherwise.
 *
 * @example
 * const { data } = parseAgentSpec({ name: 'helper' });
 */
export function parseAgentSpec(input: unknown): ParsedAgentSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', 'an agent spec is an object');
  }
  const raw = input as Record<string, unknown>;
  const codeTools: AgentTool[] = [];
  let tools = raw['tools'];
  if (Array.isArray(tools)) {
    const names: unknown[] = [];
    for (const t of tools) {
      if (typeof t === 'object' && t !== null) {
        const tool = validateTool(t);
        codeTools.push(tool);
        names.push(tool.name);
      } else names.push(t);
    }
    tools = names;
  }
  const r = agentSpecSchema.safeParse({ ...raw, ...(tools === undefined ? {} : { tools }) });
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first && first.path.length > 0 ? first.path.join('.') : '(root)';
    throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `invalid agent spec: ${describeIssues(r.error)}`, {
      details: { param: where },
    });
  }
  const dup = r.data.tools.find((n, i) => r.data.tools.indexOf(n) !== i);
  if (dup) throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `tool ${dup} is listed twice`, { details: { param: 'tools' } });
  return { data: r.data, codeTools };
}
