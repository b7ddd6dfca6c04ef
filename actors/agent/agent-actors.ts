import { TroupeError, type Clock } from '../../protocol/index.js';
import type { Context } from '../kernel/index.js';
import type { AgentHost } from './registry-types.js';
import { defaultDecider, type Directive, type SupervisionInput } from '../../supervisors/index.js';
import type { AgentSpecData } from './spec.js';
import { agentBehaviour } from './agent-actor.js';
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
  const name = data.name;
  const guard = entry.guard;
  const toolRefs = entry.toolRefs;
  const behaviour = agentBehaviour({
    name,
    refusal: () => guard.refusal(),
    callTarget: (target, fn) => guard.callTarget(target, fn),
    instructions: data.instructions,
    ...(data.temperature !== undefined ? { temperature: data.temperature } : {}),
    limits: data.limits,
    provider: guard,
    model: entry.model,
    tools: entry.tools,
    toolSpecs: entry.toolSpecs,
    // an agent that may delegate gets the `delegate` tool from the a2a module's tool source
    ...(toolRefs.length > 0 || data.delegates ? { moreTools: () => deps.toolSources.resolve(data.delegates ? [...toolRefs, DELEGATE_TOOL_REF] : toolRefs, data) } : {}),
    events: deps.events,
    clock: deps.clock,
    ...(entry.journalKey !== undefined ? { journalKey: entry.journalKey } : {}),
    ...(entry.passivateAfterMs > 0 ? { activity: entry } : {}),
  });
  deps.root.spawn({ name, supervision: supervisionOf(data.supervision), children: [{ name: 'agent', behaviour, poisonAfter: 1 }] });
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
