/**
 * The finished tasks of a task store in finish order (`finished_at`, then id: the order the
 * old `aoa.done` keys had), each with its idempotency key, held in memory so that a finish
 * writes no index entry and pruning reads nothing: it is rebuilt from the records on open.
 * About 100 bytes per kept task. For storage internals.
 *
 * @example
 * const order = new FinishOrder();
 * order.add(12, 'task_a', 'key-a');
 * order.take(1); // [{ id: 'task_a', key: 'key-a' }]
 */
export class FinishOrder {
  private ats: number[] = [];
  private ids: string[] = [];
  private keys: Array<string | undefined> = [];
  /** Entries before `head` are taken. */
  private head = 0;

  get size(): number {
    return this.ids.length - this.head;
  }

  /** Note a finish; in order when finishes come in time order (the common case), else placed where its time puts it. */
  add(at: number, id: string, key: string | undefined): void {
    let i = this.ids.length;
    while (i > this.head && (this.ats[i - 1]! > at || (this.ats[i - 1] === at && this.ids[i - 1]! > id))) i--;
    if (i === this.ids.length) {
      this.ats.push(at);
      this.ids.push(id);
      this.keys.push(key);
    } else {
      this.ats.splice(i, 0, at);
      this.ids.splice(i, 0, id);
      this.keys.splice(i, 0, key);
    }
  }

  /** Remove and return the `n` oldest finishes. */
  take(n: number): Array<{ id: string; key: string | undefined }> {
    const end = Math.min(this.ids.length, this.head + Math.max(0, n));
    const out: Array<{ id: string; key: string | undefined }> = [];
    for (let i = this.head; i < end; i++) out.push({ id: this.ids[i]!, key: this.keys[i] });
    this.head = end;
    // taken entries are dropped once they are half of the arrays
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ats = this.ats.slice(this.head);
      this.ids = this.ids.slice(this.head);
      this.keys = this.keys.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
