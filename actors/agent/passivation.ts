import type { Clock } from '../../protocol/index.js';

/** Idle time after which an agent is passivated when neither its spec nor the node says otherwise (10 minutes). */
export const DEFAULT_PASSIVATE_AFTER_MS = 600_000;
/** Longest idle time an agent spec or the node may set (7 days). */
export const MAX_PASSIVATE_AFTER_MS = 7 * 86_400_000;
/** Longest pause between two idle sweeps, whatever the idle times. */
const MAX_SWEEP_MS = 60_000;
/** Shortest pause between two idle sweeps. */
const MIN_SWEEP_MS = 10;

/** The runs an agent incarnation holds (its run table): in flight, and queued. */
export interface HeldRuns {
  readonly active: { readonly size: number };
  readonly queue: { readonly size: number };
}

/**
 * What the agent actor tells its registry about itself: when it last handled a message
 * (stamped before each one), and its incarnation's run table. The registry entry is it (one
 * object per agent, no closure, nothing allocated per message), so the idle sweep reads
 * plain fields.
 */
export interface AgentActivity {
  /** Clock ms of the last message the actor handled (or of its activation). */
  lastActiveAt: number;
  /** The current incarnation's runs: an agent with any in flight or queued is never idle. */
  runs: HeldRuns | undefined;
}

/** True when the agent holds no run, in flight or queued. */
export function holdsNoRun(a: AgentActivity): boolean {
  const r = a.runs;
  return r === undefined || (r.active.size === 0 && r.queue.size === 0);
}

/** An agent the sweep may passivate. */
export interface Passivatable extends AgentActivity {
  /** Idle time after which it is passivated (> 0). */
  readonly passivateAfterMs: number;
}

/**
 * The idle sweep of one node's agents: one timer for all of them (not one per agent, nor a
 * reset per message), running every half of the shortest idle time tracked (10 ms to 60 s).
 * Each sweep passivates the tracked agents that have nothing in flight and handled no message
 * for their `passivateAfterMs`. Only live agents whose idle time is on are tracked.
 *
 * @example
 * const sweep = new IdleSweep(clock, (e) => node.mailboxDepth(e.agent) === 0, (e) => registry.passivate(e));
 * sweep.track(entry); // after the agent's actor spawned
 */
export class IdleSweep<E extends Passivatable> {
  private readonly live = new Set<E>();
  private timer: unknown;
  private sweepMs = MAX_SWEEP_MS;
  private closed = false;

  constructor(private readonly clock: Clock, private readonly quiet: (e: E) => boolean, private readonly passivate: (e: E) => void) {}

  /** Live agents being watched for idleness. */
  get size(): number {
    return this.live.size;
  }

  /** Watch a live agent (its actor just spawned or came back); a no-op when its idle time is off. */
  track(e: E): void {
    if (this.closed || e.passivateAfterMs <= 0) return;
    e.lastActiveAt = this.clock.now();
    this.live.add(e);
    const every = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(e.passivateAfterMs / 2)));
    if (every < this.sweepMs) {
      this.sweepMs = every;
      this.disarm();
    }
    this.arm();
  }

  /** Stop watching (passivated, removed or stopped for good). */
  untrack(e: E): void {
    this.live.delete(e);
    if (this.live.size === 0) this.disarm();
  }

  /**
   * Passivate every tracked agent idle for its time; returns how many. `quiet` says whether
   * an agent's mailbox is empty too (a message queued and not handled yet is activity).
   */
  sweep(): number {
    const now = this.clock.now();
    const idle: E[] = [];
    for (const e of this.live) if (now - e.lastActiveAt >= e.passivateAfterMs && holdsNoRun(e) && this.quiet(e)) idle.push(e);
    for (const e of idle) {
      this.live.delete(e);
      this.passivate(e);
    }
    return idle.length;
  }

  /** The node is closing: no more sweeps. */
  close(): void {
    this.closed = true;
    this.disarm();
    this.live.clear();
  }

  private arm(): void {
    if (this.timer !== undefined || this.closed || this.live.size === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.sweep();
      this.arm();
    }, this.sweepMs);
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
