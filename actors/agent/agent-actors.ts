import { TroupeError, type Clock } from '../../protocol/index.js';
import type { Context } from '../kernel/index.js';
import type { AgentHost } from './registry-types.js';
import { defaultDecider, type Directive, type SupervisionInput } from '../../supervisors/index.js';
import type { AgentLimits, AgentSpecData } from './spec.js';
import { AgentActor, type AgentDeps } from './agent-actor.js';
import type { AgentActivity } from './passivation.js';
import type { AgentTool } from './tools.js';
import type { ModelProvider } from './model/index.js';
import type { ToolSpec } from '../../protocol/index.js';
import type { AgentEvents } from './events.js';
import type { AgentEntry } from './info.js';
import { DELEGATE_TOOL_REF, type ToolSources } from './tool-sources.js';

/** What spawning an agent's actors needs besides its entry. */
export interface AgentActorsDeps {
  /** `/user/agents`: the parent of every agent's supervisor. */
  root: Context;
  events: AgentEvents;
  clock: Clock;
  toolSources: ToolSources;
}

/**
 * Spawn an agent's actors from its entry: its supervisor (`/user/agents/<name>`, policy from
 * the spec's `supervision`) with the agent actor as its child. Used at spawn and at every
 * activation of a passivated agent: the entry keeps what the actors are made of (spec,
 * tools, provider, upstream guard), so the new actor recovers its memory from its journal
 * and behaves as the one that was passivated.
 *
 * @example
 * spawnAgentActors(entry, { root, events, clock, toolSources });
 */
export function spawnAgentActors(entry: AgentEntry, deps: AgentActorsDeps): void {
  const data = entry.data;
  const behaviour = new AgentActor(new EntryDeps(entry, deps));
  deps.root.spawn({ name: data.name, supervision: supervisionOf(data.supervision), children: [{ name: 'agent', behaviour, poisonAfter: 1 }] });
}

/**
 * An agent actor's deps read from its registry entry and the node's agent parts: one small
 * object per agent (two references), its fields getters over what agents of one spec share
 * (parsed spec, tools, schemas) and what the agent owns (its upstream guard), not a copy.
 */
class EntryDeps implements AgentDeps {
  constructor(private readonly entry: AgentEntry, private readonly node: AgentActorsDeps) {}

  get name(): string {
    return this.entry.data.name;
  }
  get instructions(): string {
    return this.entry.data.instructions;
  }
  get temperature(): number | undefined {
    return this.entry.data.temperature;
  }
  get limits(): AgentLimits {
    return this.entry.data.limits;
  }
  get provider(): ModelProvider {
    return this.entry.guard;
  }
  get model(): string {
    return this.entry.model;
  }
  get tools(): ReadonlyMap<string, AgentTool> {
    return this.entry.tools;
  }
  get toolSpecs(): ReadonlyArray<ToolSpec> {
    return this.entry.toolSpecs;
  }
  get events(): AgentEvents {
    return this.node.events;
  }
  get clock(): Clock {
    return this.node.clock;
  }
  get journalKey(): string | undefined {
    return this.entry.journalKey;
  }
  /** The entry is the activity record when the agent may be passivated. */
  get activity(): AgentActivity | undefined {
    return this.entry.passivateAfterMs > 0 ? this.entry : undefined;
  }

  refusal(): TroupeError | undefined {
    return this.entry.guard.refusal();
  }

  callTarget<T>(target: string, fn: () => Promise<T>): Promise<T> {
    return this.entry.guard.callTarget(target, fn);
  }

  /** An agent that may delegate gets the `delegate` tool from the a2a module's tool source. */
  moreTools(): AgentTool[] {
    const data = this.entry.data;
    const refs = this.entry.toolRefs;
    if (refs.length === 0 && !data.delegates) return [];
    return this.node.toolSources.resolve(data.delegates ? [...refs, DELEGATE_TOOL_REF] : refs, data);
  }
}

/** Refused credentials: escalate, so /user/agents stops the agent instead of a restart loop. */
const agentDecider = (e: unknown): Directive => ((e as { code?: string })?.code === 'TROUPE_ERR_MODEL_AUTH' ? 'escalate' : defaultDecider(e));
const supervisions = new WeakMap<AgentSpecData['supervision'], SupervisionInput>();

/** The supervision of an agent's supervisor: one object per spec's (agents of one spec share their spec), so the kernel parses it once. */
function supervisionOf(s: AgentSpecData['supervision']): SupervisionInput {
  let out = supervisions.get(s);
  if (out === undefined) {
    out = {
      strategy: 'one-for-one',
      maxRestarts: s.maxRestarts,
      withinMs: s.withinMs,
      backoff: { minMs: s.backoff.minMs, maxMs: Math.max(s.backoff.minMs, s.backoff.maxMs) },
      decider: agentDecider,
    };
    supervisions.set(s, out);
  }
  return out;
}

/** Failures after which /user/agents stops an agent's supervisor for good. */
const STOP_CODES = new Set(['TROUPE_ERR_SUPERVISOR_INTENSITY', 'TROUPE_ERR_MODEL_AUTH']);

/**
 * Spawn `/user/agents`, the parent of every agent's supervisor, and return its context, kept
 * so agents can be spawned under it synchronously from outside any handler (spawning a child
 * only touches the supervision tree, never the actor's state); `onContext` hears of the
 * context of each later incarnation. A supervisor that exceeds its restart intensity is
 * stopped for good rather than restarted, so a failing agent never takes the others down.
 *
 * @example
 * let root = spawnAgentsRoot(host, (ctx) => { root = ctx; });
 */
export function spawnAgentsRoot(host: Pick<AgentHost, 'spawnSpec'>, onContext: (ctx: Context) => void): Context {
  let captured: Context | undefined;
  host.spawnSpec({
    name: 'agents',
    behaviour: {
      initial: (ctx) => {
        if (captured !== undefined) onContext(ctx);
        captured = ctx;
        return undefined;
      },
      receive: () => undefined,
    },
    supervision: {
      strategy: 'one-for-one',
      maxRestarts: 1_000_000,
      withinMs: 1_000,
      // past its intensity, or refused by the upstream (401/403): stopped for good, not restarted
      decider: (e) => (STOP_CODES.has((e as { code?: string })?.code ?? '') ? 'stop' : 'restart'),
    },
  });
  if (!captured) throw new TroupeError('TROUPE_ERR_NODE_MODULE_START', 'the agents module could not start: /user/agents did not come up');
  return captured;
}
