/**
 * Callers waiting for tasks to finish, by task id: each gets the task's final view once.
 *
 * @example
 * const done = waiters.wait(id); // ... later
 * waiters.settle(id, view);
 */
export class Waiters<V> {
  private readonly byId = new Map<string, Array<(v: V) => void>>();

  wait(id: string): Promise<V> {
    return new Promise((resolve) => {
      const list = this.byId.get(id);
      if (list) list.push(resolve);
      else this.byId.set(id, [resolve]);
    });
  }

  settle(id: string, v: V): void {
    const list = this.byId.get(id);
    this.byId.delete(id);
    for (const w of list ?? []) w(v);
  }
}
