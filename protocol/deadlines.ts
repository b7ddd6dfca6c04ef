import type { Clock } from './ids.js';

/** A window of deadlines sharing one clock timer. */
interface Window {
  at: number;
  entries: Array<Timed | undefined>;
  live: number;
  timer: unknown;
}

/**
 * Something with a deadline: {@link Deadlines} keeps its place in these two fields (so a
 * caller's own record can be the entry, with nothing allocated besides), and calls
 * `onDeadline` when it passes.
 */
export interface Timed {
  onDeadline(): void;
  /** Set by Deadlines: the window it waits in (undefined once fired or cancelled). */
  deadlineWindow?: unknown;
  deadlineSlot?: number;
}

/**
 * Many deadlines on few timers, for work that sets one per request (asks, runs): deadlines
 * are rounded up to windows of `windowMs`, one clock timer per window. A cancel is O(1) and
 * lets go of its entry at once; a window whose deadlines are all cancelled gives its timer
 * back.
 *
 * @example
 * const deadlines = new Deadlines(systemClock);
 * const d = deadlines.after(5_000, () => reject(timeout()));
 * deadlines.cancel(d); // answered in time
 */
export class Deadlines {
  readonly #windows = new Map<number, Window>();
  /** The window the last deadline joined: a burst usually shares it. */
  #last: Window | undefined;

  constructor(private readonly clock: Clock, private readonly windowMs = 10) {}

  /** Call `t.onDeadline()` once `delayMs` has passed (at most `windowMs` late), unless cancelled first. */
  add(delayMs: number, t: Timed, now: number = this.clock.now()): void {
    const at = Math.ceil((now + delayMs) / this.windowMs) * this.windowMs;
    let w = this.#last !== undefined && this.#last.at === at && this.#last.live > 0 ? this.#last : this.#windows.get(at);
    if (w === undefined) {
      const created: Window = { at, entries: [], live: 0, timer: undefined };
      created.timer = this.clock.setTimeout(() => this.#expire(created), Math.max(0, at - now));
      this.#windows.set(at, created);
      w = created;
    }
    t.deadlineWindow = w;
    t.deadlineSlot = w.entries.length;
    w.entries.push(t);
    w.live++;
    this.#last = w;
  }

  /** `add` for a plain callback; returns what to cancel. */
  after(delayMs: number, fire: () => void, now?: number): Timed {
    const t: Timed = { onDeadline: fire };
    this.add(delayMs, t, now);
    return t;
  }

  /** Forget a deadline that has not fired; a no-op for one that fired or was cancelled. */
  cancel(t: Timed): void {
    const w = t.deadlineWindow as Window | undefined;
    if (w === undefined) return;
    t.deadlineWindow = undefined;
    w.entries[t.deadlineSlot!] = undefined;
    if (--w.live === 0 && this.#windows.get(w.at) === w) {
      this.clock.clearTimeout(w.timer);
      this.#drop(w);
    }
  }

  /** Drop every deadline without firing it (shutdown). */
  clear(): void {
    for (const w of this.#windows.values()) {
      this.clock.clearTimeout(w.timer);
      for (const t of w.entries) if (t !== undefined) t.deadlineWindow = undefined;
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
    for (const t of w.entries) {
      if (t === undefined || t.deadlineWindow !== w) continue;
      t.deadlineWindow = undefined;
      t.onDeadline();
    }
  }
}
