import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { JobDefinition } from './job-spec.js';

/** Parsed cron patterns kept (a croner instance holds ~80 KB, so jobs share them by expression and zone). */
const CRON_CACHE_SIZE = 64;

/** A shared croner calculator and its last answer (jobs with one expression ask about the same times together). */
interface CronCalc {
  cron: Cron;
  lastFrom: number;
  lastNext: number | undefined;
}

const cronCache = new Map<string, CronCalc>();

/** croner's calculator for an expression and zone: shared, least recently used dropped first. */
function cronFor(expression: string, timezone: string | undefined): CronCalc {
  const key = `${timezone ?? ''}\u0000${expression}`;
  let c = cronCache.get(key);
  if (c) {
    cronCache.delete(key);
  } else {
    c = { cron: new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) }), lastFrom: Number.NaN, lastNext: undefined };
    if (cronCache.size >= CRON_CACHE_SIZE) cronCache.delete(cronCache.keys().next().value!);
  }
  cronCache.set(key, c);
  return c;
}

/** The first time of a cron expression strictly after `from`. */
function cronNext(expression: string, timezone: string | undefined, from: number): number | undefined {
  const c = cronFor(expression, timezone);
  if (c.lastFrom !== from) {
    c.lastNext = c.cron.nextRun(new Date(from))?.getTime();
    c.lastFrom = from;
  }
  return c.lastNext;
}

/**
 * A job's nominal fire times. croner is only the calculator (`nextRun`, exclusive of its
 * start); the scheduler owns the timer. A calendar holds no croner instance of its own (one
 * is ~80 KB): cron patterns come from a small shared cache, so 10,000 jobs cost no more
 * than their definitions.
 *
 * @example
 * const cal = new JobCalendar(def);
 * cal.nextAfter(Date.now()); // the next nominal time, or undefined when there is none
 */
export class JobCalendar {
  // the last question and its answer: a fire asks about the same time several times, and croner takes ~50 us
  private lastT = Number.NaN;
  private lastNext: number | undefined;

  constructor(private readonly def: JobDefinition) {}

  /** The first nominal time strictly after `t` within [startAt, endAt), or undefined. */
  nextAfter(t: number): number | undefined {
    if (t === this.lastT) return this.lastNext;
    const next = this.compute(t);
    this.lastT = t;
    this.lastNext = next;
    return next;
  }

  private compute(t: number): number | undefined {
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
      next = cronNext(c.expression, c.timezone, from);
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
