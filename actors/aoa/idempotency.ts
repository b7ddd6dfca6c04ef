/**
 * Submits by idempotency key: one in flight per key is shared by its repeats; a committed one
 * is found by `lookup` (the task store's index).
 *
 * @example
 * const known = idem.known(key, (k) => lookup(k));
 * if (known) return known;
 * idem.track(key, commit);
 */
export class Idempotency<V> {
  private readonly pending = new Map<string, Promise<V>>();

  known(key: string, lookup: (key: string) => V | undefined): Promise<V> | V | undefined {
    return this.pending.get(key) ?? lookup(key);
  }

  track(key: string, commit: Promise<V>): void {
    this.pending.set(key, commit);
    void commit.finally(() => this.pending.delete(key)).catch(() => undefined);
  }
}
