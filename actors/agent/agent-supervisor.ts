import type { Signal } from '../../protocol/index.js';
import type { Behaviour, Context } from '../kernel/index.js';
import { AgentActor } from './agent-actor.js';
import { EntryDeps, type AgentActorsDeps } from './entry-deps.js';
import type { AgentEntry } from './info.js';

/** An agent's actors as its registry entry sees them (see {@link AgentSupervisor}). */
export interface AgentActors {
  /** The supervisor runs: a message to the agent's address would wake the agent actor. */
  readonly up: boolean;
  /** The agent actor was spawned in the supervisor's current incarnation. */
  readonly awake: boolean;
  /** Spawn the agent actor under the supervisor; false when the supervisor is not running. */
  wake(): boolean;
}

/**
 * The behaviour of an agent's supervisor (`/user/agents/<name>`), which spawns the agent
 * actor (`.../agent`) only when the first message comes for it: the kernel asks the agents'
 * activator, which calls {@link AgentSupervisor.wake}, then delivers the message in the same
 * synchronous step, so senders (local or remote) never see the difference and messages keep
 * their order. Until then an agent holds one cell and this object, not a second cell, its
 * mailbox and a behaviour. After a restart of the supervisor (its child is stopped with it)
 * the next message wakes a new agent actor, as the restart would have spawned it.
 *
 * @example
 * root.spawn({ name, supervision, behaviour: new AgentSupervisor(entry, deps) });
 */
export class AgentSupervisor implements Behaviour<undefined, never>, AgentActors {
  /** The context of the supervisor's current incarnation; undefined while it restarts or after it stopped. */
  private ctx: Context | undefined = undefined;
  awake = false;

  constructor(private readonly entry: AgentEntry, private readonly node: AgentActorsDeps) {}

  get up(): boolean {
    return this.ctx !== undefined;
  }

  /** It has nothing to do when it starts: no dispatcher turn. */
  get signalStarted(): boolean {
    return false;
  }

  initial(ctx: Context): undefined {
    this.ctx = ctx;
    this.awake = false;
    return undefined;
  }

  receive(): undefined {
    return undefined;
  }

  signal(_state: undefined, sig: Signal): undefined {
    // the incarnation ends (its child with it): nothing to spawn a child under until the next
    if (sig.type === 'signal.restarting' || sig.type === 'signal.stopping') {
      this.ctx = undefined;
      this.awake = false;
    }
    return undefined;
  }

  wake(): boolean {
    const ctx = this.ctx;
    if (ctx === undefined) return false;
    ctx.spawn({ name: 'agent', behaviour: new AgentActor(new EntryDeps(this.entry, this.node)), poisonAfter: 1 });
    this.awake = true;
    return true;
  }
}
