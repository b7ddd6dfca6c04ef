/** Something with a due time that the heap orders (a job entry). `at` is where it is due now. */
export interface Due {
  at: number;
}

/**
 * A binary min-heap of due times, with lazy removal: an item whose owner's `at` changed (or
 * that was dropped) is skipped when it surfaces. Pushing the same owner twice at the same
 * time makes two live items; callers dedupe what they pop.
 *
 * @example
 * const h = new DueHeap<Job>();
 * job.at = 1_000; h.push(job);
 * h.popDue(1_000); // [job]
 */
export class DueHeap<T extends Due> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.at.push(item.at);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  /** The earliest live due time, or undefined. */
  peek(isLive: (item: T) => boolean): number | undefined {
    while (this.items.length > 0) {
      const top = this.items[0]!;
      if (top.at === this.at[0] && isLive(top)) return this.at[0];
      this.pop();
    }
    return undefined;
  }

  /** Every live item due at `now` (each once), earliest first, at most `limit`. */
  popDue(now: number, isLive: (item: T) => boolean, limit: number): T[] {
    const out = new Set<T>();
    while (this.items.length > 0 && this.at[0]! <= now && out.size < limit) {
      const at = this.at[0]!;
      const top = this.pop()!;
      if (top.at === at && isLive(top)) out.add(top);
    }
    return [...out];
  }

  private pop(): T | undefined {
    const items = this.items;
    const ats = this.at;
    const top = items[0];
    const lastItem = items.pop()!;
    const lastAt = ats.pop()!;
    if (items.length > 0) {
      items[0] = lastItem;
      ats[0] = lastAt;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const ats = this.at;
    const items = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ats[p]! <= ats[i]!) break;
      [ats[i], ats[p]] = [ats[p]!, ats[i]!];
      [items[i], items[p]] = [items[p]!, items[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const ats = this.at;
    const items = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < ats.length && ats[l]! < ats[m]!) m = l;
      if (r < ats.length && ats[r]! < ats[m]!) m = r;
      if (m === i) return;
      [ats[i], ats[m]] = [ats[m]!, ats[i]!];
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
  }
}
