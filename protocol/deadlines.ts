import type { Clock } from './ids.js';

/** A window of deadlines sharing one clock timer. */
interface Window {
  at: number;
  entries: Array<Deadline | undefined>;
  live: number;
  timer: unknown;
}

/** A pending deadline: pass it to {@link Deadlines.cancel}. */
export interface Deadline {
  readonly window: Window;
  readonly slot: number;
  fire: (() => void) | undefined;
}

/**
 * Many deadlines on few timers, for work that sets one per request (asks, runs): deadlines
 * are rounded up to windows of `windowMs`, one clock timer per window. A cancel is O(1) and
 * lets go of its callback at once; a window whose deadlines are all cancelled gives its
 * timer back.
 *
 * @example
 * const deadlines = new Deadlines(systemClock);
 * const d = deadlines.add(5_000, () => reject(timeout()));
 * deadlines.cancel(d); // answered in time
 */
export class Deadlines {
  readonly #windows = new Map<number, Window>();
  /** The window the last deadline joined: a burst usually shares it. */
  #last: Window | undefined;

  constructor(private readonly clock: Clock, private readonly windowMs = 10) {}

  /** Call `fire` once `delayMs` has passed (at most `windowMs` late), unless cancelled first. */
  add(delayMs: number, fire: () => void, now: number = this.clock.now()): Deadline {
    const at = Math.ceil((now + delayMs) / this.windowMs) * this.windowMs;
    let w = this.#last !== undefined && this.#last.at === at && this.#last.live > 0 ? this.#last : this.#windows.get(at);
    if (w === undefined) {
      const created: Window = { at, entries: [], live: 0, timer: undefined };
      created.timer = this.clock.setTimeout(() => this.#expire(created), Math.max(0, at - now));
      this.#windows.set(at, created);
      w = created;
    }
    const d: Deadline = { window: w, slot: w.entries.length, fire };
    w.entries.push(d);
    w.live++;
    this.#last = w;
    return d;
  }

  /** Forget a deadline that has not fired; a no-op for one that fired or was cancelled. */
  cancel(d: Deadline): void {
    if (d.fire === undefined) return;
    d.fire = undefined;
    const w = d.window;
    w.entries[d.slot] = undefined;
    if (--w.live === 0 && this.#windows.get(w.at) === w) {
      this.clock.clearTimeout(w.timer);
      this.#drop(w);
    }
  }

  /** Drop every deadline without firing it (shutdown). */
  clear(): void {
    for (const w of this.#windows.values()) {
      this.clock.clearTimeout(w.timer);
      for (const d of w.entries) if (d !== undefined) d.fire = undefined;
      w.live = 0;
    }
    this.#windows.clear();
    this.#last = undefined;
  }

  /** Deadlines waiting to fire. */
  get size(): number {
    let n = 0;
    for (const w of this.#windows.values()) n += w.live;
    return n;
  }

  #drop(w: Window): void {
    w.live = 0; // no later deadline may join it
    this.#windows.delete(w.at);
    if (this.#last === w) this.#last = undefined;
  }

  #expire(w: Window): void {
    if (this.#windows.get(w.at) !== w) return;
    this.#drop(w);
    for (const d of w.entries) {
      const fire = d?.fire;
      if (fire === undefined) continue;
      d!.fire = undefined;
      fire();
    }
  }
}
