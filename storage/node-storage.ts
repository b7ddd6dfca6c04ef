import type { Clock } from '../protocol/index.js';
import { LmdbDeadLetterStore, MemoryDeadLetterStore, type DeadLetterStore } from './dead-letters.js';
import { JournalRegistry } from './journal-registry.js';
import { LmdbJournal } from './lmdb-journal.js';
import { MemoryJournal } from './memory-journal.js';
import type { StoreLogger } from './logger.js';
import { NodeStore } from './node-store.js';
import type { PersistentLog } from './persistent-log.js';

/**
 * Options of {@link openNodeStorage}: `dataDir` (LMDB; without one everything is in memory and
 * NOT DURABLE), `logger`, `clock` (record timestamps), `deadLetterLimit` (dead letters kept).
 */
export interface NodeStorageOptions {
  dataDir?: string | undefined;
  logger?: StoreLogger | undefined;
  clock?: Clock | undefined;
  deadLetterLimit?: number | undefined;
}

/**
 * A node's storage as the kernel takes it (`openJournal`, `dropJournal`, `deadLetters`), plus
 * the LMDB store when there is a data dir. Without one, persistent actors run on the
 * in-memory journal: they work, restarts of an actor recover its state, but nothing survives
 * the process.
 *
 * @example
 * const storage = await openNodeStorage({ dataDir: './data', logger });
 * const kernel = new Kernel({ storage });
 * kernel.onClosed('storage', () => storage.close());
 */
export interface NodeStorage {
  /** The LMDB store; undefined without a data dir. */
  readonly store: NodeStore | undefined;
  /** True when writes survive the process (there is a data dir). */
  readonly durable: boolean;
  /** The persistent actors' logs (see {@link JournalRegistry}). */
  readonly journals: JournalRegistry;
  readonly deadLetters: DeadLetterStore;
  /** The log for a persistence key (the kernel calls this once per persistent actor). */
  openJournal(key: string, spec: { snapshotEvery?: number | undefined; keepSnapshots?: number | undefined }): PersistentLog<unknown, unknown>;
  /** Settle, delete and forget a key's journal (its actor is gone for good). */
  dropJournal(key: string): Promise<void>;
  /** Flush and close (LMDB) or refuse further writes (memory). Idempotent. */
  close(): Promise<void>;
}

/**
 * Open a node's storage: LMDB under `dataDir` (locked against a second process), or the
 * in-memory twins without one.
 *
 * @example
 * const storage = await openNodeStorage({ logger }); // memory: persistent actors work, not durably
 */
export async function openNodeStorage(options: NodeStorageOptions = {}): Promise<NodeStorage> {
  const limit = options.deadLetterLimit === undefined ? {} : { maxCount: options.deadLetterLimit };
  if (options.dataDir === undefined) {
    const journal = new MemoryJournal({ ...(options.logger ? { logger: options.logger } : {}), ...(options.clock ? { clock: options.clock } : {}) });
    return storageOver(undefined, journal, new MemoryDeadLetterStore(limit), () => journal.close());
  }
  const store = await NodeStore.open({ dir: options.dataDir, ...(options.logger ? { logger: options.logger } : {}), ...(options.clock ? { clock: options.clock } : {}) });
  try {
    return storageOver(store, new LmdbJournal(store), new LmdbDeadLetterStore(store, limit), () => store.close());
  } catch (e) {
    await store.close();
    throw e;
  }
}

function storageOver(store: NodeStore | undefined, journal: LmdbJournal | MemoryJournal, deadLetters: DeadLetterStore, close: () => Promise<void>): NodeStorage {
  const journals = new JournalRegistry(journal);
  let closing: Promise<void> | undefined;
  return {
    store,
    durable: store !== undefined,
    journals,
    deadLetters,
    openJournal: (key, spec) => journals.open(key, spec),
    dropJournal: (key) => journals.drop(key),
    close: () => (closing ??= close()),
  };
}
