import { TroupeError, type Clock } from '../../protocol/index.js';
import type { Timers } from './behaviour.js';
import { TimerMessage, type TimerTicket } from './system-message.js';

/** Longest delay a timer takes (what setTimeout can hold). */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;
/** Active timers one actor may hold at once. */
export const MAX_TIMERS_PER_ACTOR = 1_000;
const MAX_KEY_LENGTH = 256;

/** What timers need from their actor. */
export interface TimerOwner {
  /** Check a timer's message against the actor's schema (throws the coded error). */
  checkMessage(message: unknown): unknown;
  /** Queue a tick, past the capacity; dropped unless the actor is running. */
  enqueueTimer(tick: TimerMessage): void;
}

/**
 * The timers of one incarnation (see {@link Timers}). Each start makes a new ticket; a queued
 * tick is handled only while its ticket is still the key's current one, which is how a
 * replaced or cancelled timer never delivers, even a tick already in the mailbox. `close`
 * (restart, stop) cancels everything and turns later calls from a stale context into no-ops.
 */
export class ActorTimers implements Timers {
  private readonly active = new Map<string, TimerTicket>();
  private closed = false;

  constructor(private readonly owner: TimerOwner, private readonly clock: Clock) {}

  startSingle(key: string, delayMs: number, message: unknown): void {
    this.start(key, delayMs, message, false);
  }

  startPeriodic(key: string, intervalMs: number, message: unknown): void {
    this.start(key, intervalMs, message, true);
  }

  cancel(key: string): void {
    const t = this.active.get(key);
    if (t === undefined) return;
    this.clock.clearTimeout(t.handle);
    this.active.delete(key);
  }

  cancelAll(): void {
    for (const t of this.active.values()) this.clock.clearTimeout(t.handle);
    this.active.clear();
  }

  isActive(key: string): boolean {
    return this.active.has(key);
  }

  /** The incarnation ended: cancel every timer and ignore whatever its stale contexts try. */
  close(): void {
    this.cancelAll();
    this.closed = true;
  }

  /**
   * A tick reached the handler: true when it is still due (its ticket current). A single
   * timer is done once its tick is handled.
   */
  accept(ticket: TimerTicket): boolean {
    if (this.active.get(ticket.key) !== ticket) return false;
    ticket.queued = false;
    if (!ticket.periodic) this.active.delete(ticket.key);
    return true;
  }

  private start(key: string, ms: number, message: unknown, periodic: boolean): void {
    if (this.closed) return;
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new TroupeError('TROUPE_ERR_ACTOR_TIMER_INVALID', `timer key must be a string of 1-${MAX_KEY_LENGTH} characters`);
    }
    const min = periodic ? 1 : 0;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < min || ms > MAX_TIMER_DELAY_MS) {
      throw new TroupeError('TROUPE_ERR_ACTOR_TIMER_INVALID', `timer "${key}": ${periodic ? 'interval' : 'delay'} must be ${min}-${MAX_TIMER_DELAY_MS} ms, got ${String(ms)}`);
    }
    const checked = this.owner.checkMessage(message);
    this.cancel(key);
    if (this.active.size >= MAX_TIMERS_PER_ACTOR) {
      throw new TroupeError('TROUPE_ERR_ACTOR_TIMER_LIMIT', `an actor holds at most ${MAX_TIMERS_PER_ACTOR} active timers`, { details: { limit: MAX_TIMERS_PER_ACTOR } });
    }
    const ticket: TimerTicket = { key, periodic, queued: false, handle: undefined };
    const fire = (): void => {
      if (this.active.get(key) !== ticket) return;
      if (periodic) ticket.handle = this.clock.setTimeout(fire, ms);
      // a periodic timer whose last tick is still queued skips this one: ticks never pile up
      if (ticket.queued) return;
      ticket.queued = true;
      this.owner.enqueueTimer(new TimerMessage(checked, ticket));
    };
    ticket.handle = this.clock.setTimeout(fire, ms);
    this.active.set(key, ticket);
  }
}
