import { randomBytes } from 'node:crypto';

/** Id and clock sources are injectable so tests drive them. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // Not unref'd: a pending restart or ask timeout is work someone awaits.
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

let counter = 0;
const idPrefix = randomBytes(6).toString('base64url');

/** Fast unique ids: a random per-process prefix plus a counter (monotonic, sortable within a process). */
export function newId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return flat(idPrefix, counter.toString(36), '-');
}

/**
 * A fresh id with a prefix (`run_…`), as one flat string (see {@link flat}).
 *
 * @example
 * prefixedId('run_'); // 'run_Xy3_ab12-1a'
 */
export function prefixedId(prefix: string): string {
  // newId's string built with the prefix in one go: one flat string, no intermediate one
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return [prefix, idPrefix, '-', counter.toString(36)].join('');
}

/**
 * `a + sep + b` as one flat string. A plain concatenation of 13 or more characters is a
 * rope (V8 ConsString) that is flattened later, when it is packed or matched, and those
 * flattenings of per-message strings cost the young-generation GC dearly (the copies
 * survive into old space). Ids and reply addresses are made flat from the start.
 */
export function flat(a: string, b: string, sep = ''): string {
  return [a, b].join(sep);
}

/**
 * A clock that moves only when told: tests drive time instead of sleeping.
 *
 * @example
 * const clock = new ManualClock();
 * clock.setTimeout(() => fired = true, 100);
 * clock.advance(100); // fired
 */
export class ManualClock implements Clock {
  private t: number;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Move time forward, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }

  get pending(): number {
    return this.timers.length;
  }
}
