import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { JobDefinition } from './job-spec.js';

/**
 * A job's nominal fire times. croner is only the calculator (`nextRun`, exclusive of its
 * start); the scheduler actor owns the timer.
 *
 * @example
 * const cal = new JobCalendar(def);
 * cal.nextAfter(Date.now()); // the next nominal time, or undefined when there is none
 */
export class JobCalendar {
  private readonly cron: Cron | undefined;

  constructor(private readonly def: JobDefinition) {
    const c = def.calendar;
    this.cron = c.kind === 'cron' ? new Cron(c.expression, { paused: true, ...(c.timezone ? { timezone: c.timezone } : {}) }) : undefined;
  }

  /** The first nominal time strictly after `t` within [startAt, endAt), or undefined. */
  nextAfter(t: number): number | undefined {
    const d = this.def;
    const from = d.startAt !== undefined ? Math.max(t, d.startAt - 1) : t;
    let next: number | undefined;
    const c = d.calendar;
    if (c.kind === 'once') next = c.at > from ? c.at : undefined;
    else if (c.kind === 'interval') {
      const k = Math.floor((from - c.anchorMs) / c.everyMs) + 1;
      next = c.anchorMs + Math.max(0, k) * c.everyMs;
      if (next <= from) next += c.everyMs;
    } else {
      const r = this.cron!.nextRun(new Date(from));
      next = r ? r.getTime() : undefined;
    }
    if (next === undefined || (d.endAt !== undefined && next >= d.endAt)) return undefined;
    return next;
  }

  /** Nominal times in (after, upTo], at most `limit` of them. */
  between(after: number, upTo: number, limit: number): number[] {
    const out: number[] = [];
    let t = after;
    while (out.length < limit) {
      const n = this.nextAfter(t);
      if (n === undefined || n > upTo) break;
      out.push(n);
      t = n;
    }
    return out;
  }

  /** This fire's jitter: derived from its id, so the same after a restart. */
  jitterOf(nominal: number): number {
    if (this.def.jitterMs <= 0) return 0;
    const h = createHash('sha256').update(fireId(this.def.id, nominal)).digest();
    return h.readUInt32BE(0) % (this.def.jitterMs + 1);
  }
}

/** A fire's id and its task's idempotency key: `scheduleId@nominalISO`. */
export function fireId(jobId: string, nominal: number): string {
  return `${jobId}@${new Date(nominal).toISOString()}`;
}
