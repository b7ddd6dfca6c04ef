import { TroupeError } from '../../protocol/index.js';
import type { ActorRef, Context } from '../kernel/index.js';
import type { AgentHost } from './registry-types.js';
import { defaultDecider, type Directive, type SupervisionInput } from '../../supervisors/index.js';
import type { AgentSpecData } from './spec.js';
import type { AgentEntry } from './info.js';
import { AgentSupervisor } from './agent-supervisor.js';
import type { AgentActorsDeps } from './entry-deps.js';

export type { AgentActorsDeps } from './entry-deps.js';

/**
 * Spawn an agent's actors from its entry: its supervisor (`/user/agents/<name>`, policy from
 * the spec's `supervision`), whose child, the agent actor, is spawned by the first message to
 * the agent's address (see {@link AgentSupervisor}): an agent never asked holds one cell,
 * not two. Used at spawn and at every
 * activation of a passivated agent: the entry keeps what the actors are made of (spec,
 * tools, provider, upstream guard), so the new actor recovers its memory from its journal
 * and behaves as the one that was passivated.
 *
 * @example
 * entry.supervisor = spawnAgentActors(entry, { root, events, clock, toolSources });
 */
export function spawnAgentActors(entry: AgentEntry, deps: AgentActorsDeps): ActorRef {
  const data = entry.data;
  const actors = new AgentSupervisor(entry, deps);
  entry.actors = actors;
  return deps.root.spawn({ name: data.name, supervision: supervisionOf(data.supervision), behaviour: actors });
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
