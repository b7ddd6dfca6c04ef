import { BackoffState } from './backoff.js';
import type { Directive } from './directive.js';
import type { SupervisionPolicy } from './policy.js';
import { shouldRestart, type ExitKind, type RestartType } from './restart-type.js';
import { RestartIntensity } from './restart-intensity.js';
import { strategyFor } from './strategy.js';

/** A child as its supervisor sees it, in start order. */
export interface ChildInfo {
  readonly id: string;
  readonly restart: RestartType;
}

/** What the supervisor must do about one child exit. The kernel carries it out. */
export type Plan =
  | { kind: 'resume'; directive: Directive }
  /** Remove the child for good (not restarted): temporary, transient normal exit or shutdown, or decider stop. */
  | { kind: 'remove'; directive: Directive; child: string }
  /**
   * Stop `stop` (already in stop order: reverse start order; the failed child is included
   * and may already be dead), then after `delayMs` start `restart` in start order. Children
   * in `stop` but not in `restart` (temporary ones) are removed.
   */
  | { kind: 'restart'; directive: Directive; stop: string[]; restart: string[]; delayMs: number }
  /** Stop every child (reverse start order) and fail the supervisor itself. */
  | { kind: 'escalate'; directive: Directive; reason: 'decider' | 'intensity' };

/**
 * The decision logic of one supervisor, free of I/O: the clock and the random source are
 * passed in, so the same failure sequence always yields the same plans.
 *
 * @example
 * const p = new SupervisorPlanner(supervision({ strategy: 'rest-for-one' }));
 * p.plan([{ id: 'a', restart: 'permanent' }, { id: 'b', restart: 'permanent' }], 'a', 'crash', new Error('x'), 0, 0.5);
 * // { kind: 'restart', stop: ['b', 'a'], restart: ['a', 'b'], ... }
 */
export class SupervisorPlanner {
  readonly intensity: RestartIntensity;
  private readonly backoffs = new Map<string, BackoffState>();

  constructor(readonly policy: SupervisionPolicy) {
    this.intensity = new RestartIntensity(policy.maxRestarts, policy.withinMs);
  }

  /**
   * `unresumable`: the child's state may not match what it acknowledged (a failed commit), so
   * a `resume` from the decider becomes a `restart`. The decider sees crashes and shutdowns
   * (a child supervisor past its intensity); a `restart` it decides still follows the child's
   * restart type, so a transient child that shut down is removed, as in OTP.
   */
  plan(children: readonly ChildInfo[], failed: string, exit: ExitKind, error: unknown, now: number, random: number, unresumable = false): Plan {
    const child = children.find((c) => c.id === failed);
    const restartType: RestartType = child?.restart ?? 'temporary';
    let directive: Directive = 'restart';
    if (exit !== 'normal') {
      try {
        directive = this.policy.decider(error);
      } catch {
        directive = 'escalate';
      }
      // a shut-down supervisor has stopped its children: there is nothing left to resume
      if (directive === 'resume' && (unresumable || exit === 'shutdown')) directive = 'restart';
      if (directive === 'resume') return { kind: 'resume', directive };
      if (directive === 'stop') return { kind: 'remove', directive, child: failed };
      if (directive === 'escalate') return { kind: 'escalate', directive, reason: 'decider' };
    }
    if (!shouldRestart(restartType, exit)) return { kind: 'remove', directive, child: failed };
    if (!this.intensity.allow(now)) return { kind: 'escalate', directive, reason: 'intensity' };

    const order = children.map((c) => c.id);
    const affected = strategyFor(this.policy.strategy).affected(order, failed);
    let backoff = this.backoffs.get(failed);
    if (!backoff) {
      backoff = new BackoffState(this.policy.backoff);
      this.backoffs.set(failed, backoff);
    }
    const delayMs = backoff.next(now, random);
    return {
      kind: 'restart',
      directive,
      stop: [...affected].reverse(),
      // temporary siblings are stopped with the rest but never brought back
      restart: affected.filter((id) => id === failed || children.find((c) => c.id === id)?.restart !== 'temporary'),
      delayMs,
    };
  }

  /** Forget a removed child's backoff state. */
  forget(child: string): void {
    this.backoffs.delete(child);
  }
}
