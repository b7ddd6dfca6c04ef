import { join } from 'node:path';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import { z } from 'zod';
import { TroupeError, parseOrThrow, systemClock, type Clock } from '../protocol/index.js';
import { DirLock } from './lock.js';
import { silentLogger, type StoreLogger } from './logger.js';

/** An LMDB named database inside the node's environment (lmdb-js `Database`). */
export type StoreDb = Database<any, Key>;

/** File name of the node's LMDB environment inside the data dir. */
export const ENV_FILE = 'troupe.mdb';

/** The named databases every node opens. */
/** A `clock` option: anything with `now()` (the node's clock, or a test's). */
export const clockOptionSchema = z.custom<Pick<Clock, 'now'>>((v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function').optional();

/** Where a database opened with `sharedStructures` keeps its record shapes. */
export const SHARED_STRUCTURES_KEY = Symbol.for('structures');

export const CORE_DBS = ['journal', 'snapshots', 'state', 'deadLetters', 'outbox', 'inbox', 'inbox.done', 'inbox.doneAt'] as const;

const optionsSchema = z.strictObject({
  dir: z.string().min(1),
  mapSizeBytes: z.number().int().positive().optional(),
  noSync: z.boolean().default(false),
  maxDbs: z.number().int().min(CORE_DBS.length).max(1024).default(64),
  logger: z.custom<StoreLogger>((v) => typeof v === 'object' && v !== null && typeof (v as StoreLogger).warn === 'function').optional(),
  clock: clockOptionSchema,
});

/**
 * Options for {@link NodeStore.open}.
 *
 * - `dir`: the data dir (created if missing); holds `troupe.mdb` and the lock file.
 * - `mapSizeBytes`: initial LMDB map size (lmdb-js grows it when full).
 * - `noSync`: skip fsync. Still survives a killed process (the OS has the pages), not a
 *   machine crash. Only for tests and scratch nodes.
 * - `maxDbs`: how many named databases may be opened (default 64).
 * - `logger`: pino-compatible; silent by default.
 * - `clock`: timestamps written into records (default: wall clock).
 */
export type NodeStoreOptions = z.input<typeof optionsSchema>;

/** Rejection for any use of a closed store. */
function closedError(dir: string): TroupeError {
  return new TroupeError('TROUPE_ERR_STORAGE_CLOSED', `store at ${dir} is closed`, { details: { dir } });
}

/**
 * A node's durable storage: one LMDB environment (`<dir>/troupe.mdb`) with a named database
 * per concern, guarded by a data dir lock so that only one live process writes it.
 *
 * A write that resolves has committed. lmdb-js resolves async writes after the commit; with
 * the default settings the pages are then in the OS (so a `kill -9` loses nothing) and are
 * fsynced right behind the commit (overlapping sync), so a machine crash falls back to the
 * last flushed transaction, which is still consistent. Await {@link NodeStore.flushed} when
 * a write must also survive power loss.
 *
 * @example
 * const store = await NodeStore.open({ dir: './data', logger });
 * const log = new PersistentLog(store, 'user/counter');
 * const { state } = log.recover(0, (s, e: number) => s + e);
 * await store.close();
 */
export class NodeStore {
  /** The data dir. */
  readonly dir: string;
  /** Journals of persistent actors, keyed `[persistenceKey, seq]`. */
  readonly journal: StoreDb;
  /** Actor snapshots, keyed `[persistenceKey, seq]`. */
  readonly snapshots: StoreDb;
  /** Plain durable key/value state (node metadata, cursors). */
  readonly state: StoreDb;
  /** Dead letters (see `LmdbDeadLetterStore`). */
  readonly deadLetters: StoreDb;
  /** Durable outbound queue (see `LmdbOutboxStore`). */
  readonly outbox: StoreDb;
  /** Durable inbound dedup and redelivery (see `LmdbInboxStore`). */
  readonly inbox: StoreDb;
  /** Done inbox ids, and the same by the time they were done (for pruning). */
  readonly inboxDone: StoreDb;
  readonly inboxDoneAt: StoreDb;
  /** The logger storage reports to. */
  readonly logger: StoreLogger;
  /** Clock for record timestamps. */
  readonly clock: Pick<Clock, 'now'>;

  private readonly root: RootDatabase;
  private readonly lock: DirLock;
  private readonly dbs = new Map<string, StoreDb>();
  private closing?: Promise<void>;

  private constructor(dir: string, root: RootDatabase, lock: DirLock, logger: StoreLogger, clock: Pick<Clock, 'now'>) {
    this.dir = dir;
    this.root = root;
    this.lock = lock;
    this.logger = logger;
    this.clock = clock;
    this.journal = this.db('journal');
    this.snapshots = this.db('snapshots');
    this.state = this.db('state');
    this.deadLetters = this.db('deadLetters');
    this.outbox = this.db('outbox');
    this.inbox = this.db('inbox');
    this.inboxDone = this.db('inbox.done');
    this.inboxDoneAt = this.db('inbox.doneAt');
  }

  /**
   * Lock the data dir and open the environment. Throws TROUPE_ERR_STORAGE_LOCKED when another
   * live process holds the dir (a lock left by a dead process is taken over and logged), and
   * TROUPE_ERR_CONFIG_INVALID for bad options.
   *
   * @example
   * const store = await NodeStore.open({ dir: '/var/lib/troupe/node-a' });
   */
  static async open(options: NodeStoreOptions): Promise<NodeStore> {
    const o = parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid store options');
    const logger = o.logger ?? silentLogger;
    const lock = DirLock.acquire(o.dir, logger);
    let root: RootDatabase;
    try {
      root = open({
        path: join(o.dir, ENV_FILE),
        maxDbs: o.maxDbs,
        noSync: o.noSync,
        ...(o.mapSizeBytes === undefined ? {} : { mapSize: o.mapSizeBytes }),
      });
    } catch (cause) {
      lock.release();
      throw new TroupeError('TROUPE_ERR_STORAGE_WRITE', `could not open LMDB at ${o.dir}: ${(cause as Error).message}`, { cause, details: { dir: o.dir } });
    }
    const store = new NodeStore(o.dir, root, lock, logger, o.clock ?? systemClock);
    logger.debug({ dir: o.dir }, 'store opened');
    return store;
  }

  /** True once {@link NodeStore.close} has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * The named database `name`, opened on first use (sessions, jobs, audit...). Handles are
   * cached; write through {@link NodeStore.put}/{@link NodeStore.batch} to get coded errors.
   * Do not write through a handle after close: lmdb-js fails such writes outside any promise.
   *
   * @example
   * const sessions = store.db('sessions');
   * const s = sessions.get(['agent', id]);
   * const raw = store.db('audit', { encoding: 'binary' }); // values are Buffers, stored as given
   * const tasks = store.db('aoa.tasks', { sharedStructures: true }); // object keys stored once per shape
   */
  db(name: string, options: { encoding?: 'binary'; sharedStructures?: boolean } = {}): StoreDb {
    this.assertOpen();
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'database name must be a non-empty string of at most 200 characters');
    }
    let d = this.dbs.get(name);
    if (!d) {
      // binary: values are the exact bytes given (the audit chain hashes what is stored)
      // sharedStructures: msgpack records name their keys once per shape, in a record of the
      // database itself (key Symbol.for('structures'); scans must step over it), not in every
      // value; records written without it still decode. Every opener of the name must agree.
      d = this.root.openDB(name, options.encoding === 'binary' ? { encoding: 'binary' } : options.sharedStructures ? { sharedStructuresKey: SHARED_STRUCTURES_KEY } : {});
      this.dbs.set(name, d);
    }
    return d;
  }

  /**
   * Put one value; resolves after the commit, rejects with TROUPE_ERR_STORAGE_WRITE (cause:
   * the lmdb error) or TROUPE_ERR_STORAGE_CLOSED.
   *
   * @example
   * await store.put(store.state, 'node-id', 'a');
   */
  put(db: StoreDb, key: Key, value: unknown): Promise<void> {
    return this.write(() => db.put(key, value), 'put').then(() => undefined);
  }

  /**
   * Remove one key; resolves after the commit (a missing key is not an error).
   *
   * @example
   * await store.remove(store.state, 'node-id');
   */
  remove(db: StoreDb, key: Key): Promise<void> {
    return this.write(() => db.remove(key), 'remove').then(() => undefined);
  }

  /**
   * Run `fn`'s puts and removes (on any of this store's databases) as one atomic commit.
   * `fn` runs synchronously; reads inside it see committed data only.
   *
   * @example
   * await store.batch(() => { a.put('x', 1); b.remove('y'); });
   */
  batch(fn: () => void): Promise<void> {
    return this.write(() => this.root.batch(fn), 'batch').then(() => undefined);
  }

  /**
   * Resolves when every write issued so far is fsynced, not only committed.
   *
   * @example
   * await store.put(store.state, 'k', v); await store.flushed();
   */
  flushed(): Promise<void> {
    if (this.closed) return Promise.reject(closedError(this.dir));
    return Promise.resolve(this.root.flushed).then(() => undefined);
  }

  /**
   * Wait for pending writes, close LMDB and release the lock. Idempotent: every call
   * returns the same promise.
   *
   * @example
   * await Promise.all([store.close(), store.close()]);
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.root.close();
      } finally {
        this.dbs.clear();
        this.lock.release();
        this.logger.debug({ dir: this.dir }, 'store closed');
      }
    })();
    return this.closing;
  }

  /** Throws TROUPE_ERR_STORAGE_CLOSED when closed. For storage internals. */
  assertOpen(): void {
    if (this.closing) throw closedError(this.dir);
  }

  /** The TROUPE_ERR_STORAGE_CLOSED error for this store. For storage internals. */
  closedError(): TroupeError {
    return closedError(this.dir);
  }

  /**
   * Issue one lmdb-js write and map every failure (thrown at once, e.g. a key over LMDB's
   * size limit or a value that cannot be encoded, or rejected by the commit) to
   * TROUPE_ERR_STORAGE_WRITE. For storage internals.
   */
  write<T>(issue: () => Promise<T>, what: string): Promise<T> {
    if (this.closing) return Promise.reject(closedError(this.dir));
    let p: Promise<T>;
    try {
      p = issue();
    } catch (cause) {
      return Promise.reject(this.writeError(what, cause));
    }
    return p.then(undefined, (cause: unknown) => {
      throw this.writeError(what, cause);
    });
  }

  /** The coded error for a failed write. For storage internals. */
  writeError(what: string, cause: unknown): TroupeError {
    if (cause instanceof TroupeError) return cause;
    return new TroupeError('TROUPE_ERR_STORAGE_WRITE', `LMDB ${what} failed in ${this.dir}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
      details: { dir: this.dir, op: what },
    });
  }
}
