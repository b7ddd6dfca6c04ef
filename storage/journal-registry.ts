import type { Journal } from './journal.js';
import { PersistentLog, type LogHooks, type PersistenceOptions } from './persistent-log.js';

/**
 * The logs of a node's persistent actors, one per persistence key. A log is held here only
 * while it has commits in flight: a live actor holds its own log, and a log with nothing in
 * flight holds nothing the journal does not, so an actor stopped and spawned again under the
 * same key gets the old log while its commits are still settling (the same sequence, in
 * order) and a fresh one, read from the journal, after. So keys of actors that are gone
 * leave nothing behind ({@link JournalRegistry.size} is 0 once every commit settled).
 *
 * @example
 * const logs = new JournalRegistry(new LmdbJournal(store));
 * const log = logs.open('user/counter', { snapshotEvery: 500 });
 * await logs.drop('user/counter'); // the actor is removed for good
 */
export class JournalRegistry {
  readonly journal: Journal;
  readonly #logs = new Map<string, PersistentLog<unknown, unknown>>();
  readonly #hooks: LogHooks = {
    busy: (log) => {
      // One log per key: a second live log for a key (a misuse) is not registered over the first.
      if (!this.#logs.has(log.key)) this.#logs.set(log.key, log);
    },
    idle: (log) => {
      if (this.#logs.get(log.key) === log) this.#logs.delete(log.key);
    },
  };

  constructor(journal: Journal) {
    this.journal = journal;
  }

  /** Logs held because they have commits in flight. */
  get size(): number {
    return this.#logs.size;
  }

  /**
   * The log for `key`: the one still committing, or a new one over the journal.
   *
   * @example const log = logs.open('user/cart', { snapshotEvery: 1000, keepSnapshots: 2 });
   */
  open(key: string, options: { snapshotEvery?: number | undefined; keepSnapshots?: number | undefined } = {}): PersistentLog<unknown, unknown> {
    const held = this.#logs.get(key);
    if (held) return held;
    const o: PersistenceOptions = {
      ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
      ...(options.keepSnapshots !== undefined ? { keepSnapshots: options.keepSnapshots } : {}),
    };
    return new PersistentLog(this.journal, key, o, this.#hooks);
  }

  /**
   * Delete every event and snapshot of `key` once its commits settled, and forget its log
   * (its actor is removed for good).
   *
   * @example await logs.drop('agent/helper');
   */
  async drop(key: string): Promise<void> {
    const log = this.#logs.get(key) ?? new PersistentLog(this.journal, key);
    this.#logs.delete(key);
    await log.purge();
  }
}
