/**
 * The task runtime's in-memory priority queue (the durable copy is the task store; this is
 * rebuilt from it at start). Order: strict priority by rank (0 = CRITICAL ... 4 =
 * BACKGROUND) with aging: a task waiting since it became ready gains one rank per `agingMs`
 * (never above rank 0), so BACKGROUND never starves. Among equal effective ranks the task
 * ready first wins, then the one submitted first (FIFO). A task with `readyAt` in the future
 * (delayed, or backing off before a retry) is not dequeued before then.
 */
export interface QueueEntry {
  id: string;
  /** 0 (most urgent) to 4. */
  rank: number;
  /** Submission order. */
  seq: number;
  /** When it may run. */
  readyAt: number;
}

/** The effective rank of an entry at `now` under aging. */
export function effectiveRank(e: QueueEntry, now: number, agingMs: number): number {
  const waited = Math.max(0, now - e.readyAt);
  return Math.max(0, e.rank - Math.floor(waited / agingMs));
}

/** True when `a` goes before `b` at `now`. */
export function before(a: QueueEntry, b: QueueEntry, now: number, agingMs: number): boolean {
  const ra = effectiveRank(a, now, agingMs);
  const rb = effectiveRank(b, now, agingMs);
  if (ra !== rb) return ra < rb;
  if (a.readyAt !== b.readyAt) return a.readyAt < b.readyAt;
  return a.seq < b.seq;
}

const byReadyThenSeq = (a: QueueEntry, b: QueueEntry): number => a.readyAt - b.readyAt || a.seq - b.seq;

/** A binary min-heap on (readyAt, seq): the delayed entries. */
class DelayHeap {
  private readonly items: QueueEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): QueueEntry | undefined {
    return this.items[0];
  }
  push(e: QueueEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (byReadyThenSeq(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): QueueEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && byReadyThenSeq(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && byReadyThenSeq(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Five ready lanes (one per rank, each ordered by readyAt then seq, so its head is its best)
 * and a heap of delayed entries moved into their lane when due. Removal is lazy.
 *
 * @example
 * const q = new TaskQueue(60_000);
 * q.push({ id: 'a', rank: 2, seq: 1, readyAt: 0 });
 * q.pop(0); // { id: 'a', ... }
 */
export class TaskQueue {
  private readonly lanes: QueueEntry[][] = [[], [], [], [], []];
  private readonly heads = [0, 0, 0, 0, 0];
  private readonly delayed = new DelayHeap();
  private readonly live = new Map<string, QueueEntry>();

  constructor(private readonly agingMs: number) {}

  /** Entries queued (ready or delayed). */
  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  /** Entries queued per rank. */
  depthByRank(): number[] {
    const out = [0, 0, 0, 0, 0];
    for (const e of this.live.values()) out[e.rank]!++;
    return out;
  }

  /** Add an entry (ready at once or delayed). Entries must be pushed in (readyAt, seq) order per lane when ready; recovery sorts first. */
  push(e: QueueEntry): void {
    this.live.set(e.id, e);
    this.delayed.push(e);
  }

  /** Forget an entry (cancelled). */
  remove(id: string): boolean {
    return this.live.delete(id);
  }

  /** The earliest readyAt of a delayed entry, if any (when the runtime should look again). */
  nextDueAt(): number | undefined {
    this.dropDeadDelayed();
    return this.delayed.peek()?.readyAt;
  }

  /** How long the best ready entry has waited at `now` (0 when none). */
  oldestWaitMs(now: number): number {
    this.promote(now);
    let oldest = 0;
    for (let r = 0; r < 5; r++) {
      const h = this.head(r);
      if (h) oldest = Math.max(oldest, now - h.readyAt);
    }
    return oldest;
  }

  /** Ready entries at `now`. */
  /** True when an entry is due at `now` (stops at the first one found). */
  hasReady(now: number): boolean {
    this.promote(now);
    for (let r = 0; r < 5; r++) {
      const lane = this.lanes[r]!;
      for (let i = this.heads[r]!; i < lane.length; i++) if (this.live.get(lane[i]!.id) === lane[i]) return true;
    }
    return false;
  }

  readyCount(now: number): number {
    this.promote(now);
    let n = 0;
    for (let r = 0; r < 5; r++) {
      const lane = this.lanes[r]!;
      for (let i = this.heads[r]!; i < lane.length; i++) if (this.live.get(lane[i]!.id) === lane[i]) n++;
    }
    return n;
  }

  /** Take the next entry due at `now`, or undefined. */
  pop(now: number): QueueEntry | undefined {
    this.promote(now);
    let best: QueueEntry | undefined;
    let bestRank = -1;
    for (let r = 0; r < 5; r++) {
      const h = this.head(r);
      if (h && (!best || before(h, best, now, this.agingMs))) {
        best = h;
        bestRank = r;
      }
    }
    if (!best) return undefined;
    this.heads[bestRank]!++;
    this.compact(bestRank);
    this.live.delete(best.id);
    return best;
  }

  private head(r: number): QueueEntry | undefined {
    const lane = this.lanes[r]!;
    while (this.heads[r]! < lane.length) {
      const e = lane[this.heads[r]!]!;
      if (this.live.get(e.id) === e) return e;
      this.heads[r]!++;
    }
    this.compact(r);
    return undefined;
  }

  private compact(r: number): void {
    const h = this.heads[r]!;
    if (h > 1024 && h * 2 > this.lanes[r]!.length) {
      this.lanes[r] = this.lanes[r]!.slice(h);
      this.heads[r] = 0;
    }
  }

  private dropDeadDelayed(): void {
    for (let e = this.delayed.peek(); e && this.live.get(e.id) !== e; e = this.delayed.peek()) this.delayed.pop();
  }

  /** Move every delayed entry due at `now` into its lane, in (readyAt, seq) order. */
  private promote(now: number): void {
    for (let e = this.delayed.peek(); e && e.readyAt <= now; e = this.delayed.peek()) {
      this.delayed.pop();
      if (this.live.get(e.id) !== e) continue;
      this.insertOrdered(e);
    }
  }

  private insertOrdered(e: QueueEntry): void {
    const lane = this.lanes[e.rank]!;
    let i = lane.length;
    // nearly always appended; a late promotion (readyAt earlier than the tail) is placed in order
    while (i > this.heads[e.rank]! && byReadyThenSeq(lane[i - 1]!, e) > 0) i--;
    lane.splice(i, 0, e);
  }
}
