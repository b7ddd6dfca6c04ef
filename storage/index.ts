/**
 * troupe storage: one LMDB environment per node (journal, snapshots, state, dead letters,
 * outbox, inbox, and any further named databases), behind small interfaces with in-memory
 * twins. Other layers import from here only.
 *
 * @example
 * import { NodeStore, PersistentLog, LmdbOutboxStore } from '../storage/index.js';
 * const store = await NodeStore.open({ dir: './data/node-a', logger });
 */
export { NodeStore, ENV_FILE, CORE_DBS, type NodeStoreOptions, type StoreDb } from './node-store.js';
export { LOCK_FILE } from './lock.js';
export { silentLogger, type StoreLogger } from './logger.js';
export { PersistentLog, PERSISTENCE_KEY_MAX_BYTES, type PersistenceOptions, type Recovered } from './persistent-log.js';
export {
  RECORD_VERSION, journalRecordSchema, snapshotRecordSchema, type JournalRecord, type SnapshotRecord,
} from './records.js';
export {
  MemoryDeadLetterStore, LmdbDeadLetterStore, deadLetterRecordSchema, deadLetterReasons,
  DEFAULT_DEAD_LETTER_MAX, DEFAULT_DEAD_LETTER_PAGE,
  type DeadLetterStore, type DeadLetterRecord, type DeadLetterReason, type DeadLetterQuery, type DeadLetterStoreOptions,
} from './dead-letters.js';
export {
  MemoryOutboxStore, LmdbOutboxStore, DEFAULT_OUTBOX_MAX_PER_PEER, type OutboxStore, type OutboxOptions,
} from './outbox.js';
export { MemoryInboxStore, LmdbInboxStore, INBOX_ID_MAX_BYTES, type InboxStore, type InboxOptions } from './inbox.js';
export {
  LmdbPersistenceEngine, NACT_KEY_PREFIX, type LmdbPersistenceEngineOptions, type NactPersistedEvent, type NactPersistedSnapshot,
} from './nact-engine.js';
