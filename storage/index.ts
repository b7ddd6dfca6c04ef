/**
 * troupe storage: one LMDB environment per node (journal, snapshots, state, dead letters,
 * outbox, inbox, and any further named databases), behind small interfaces with in-memory
 * twins (the journal's: `MemoryJournal`, not durable). Other layers import from here only.
 *
 * @example
 * import { openNodeStorage } from '../storage/index.js';
 * const storage = await openNodeStorage({ dataDir: './data/node-a', logger });
 */
export { NodeStore, ENV_FILE, type NodeStoreOptions, type StoreDb } from './node-store.js';
export { LOCK_FILE } from './lock.js';
export { SecretBox, sealedSchema, MIN_DATA_KEY_LENGTH, type Sealed } from './secrets.js';
export { corruptRecord } from './records.js';
export type { StoreLogger } from './logger.js';
export { PersistentLog, type PersistenceOptions, type Recovered, type LogHooks } from './persistent-log.js';
export { checkKey, PERSISTENCE_KEY_MAX_BYTES, type Journal, type JournalBatch } from './journal.js';
export { LmdbJournal } from './lmdb-journal.js';
export { MemoryJournal, type MemoryJournalOptions } from './memory-journal.js';
export { JournalRegistry } from './journal-registry.js';
export { openNodeStorage, type NodeStorage, type NodeStorageOptions } from './node-storage.js';
export {
  MemoryDeadLetterStore, LmdbDeadLetterStore,
  type DeadLetterStore, type DeadLetterRecord, type DeadLetterReason, type DeadLetterQuery, type DeadLetterStoreOptions,
} from './dead-letters.js';
export { MemoryOutboxStore, LmdbOutboxStore, type OutboxStore, type OutboxOptions, type PendingOptions } from './outbox.js';
export { MemoryInboxStore, LmdbInboxStore, type InboxStore, type InboxOptions } from './inbox.js';
export {
  LmdbTaskStore, MemoryTaskStore, storedTaskSchema, TASK_PRIORITIES, STORED_TASK_STATUSES, TERMINAL_STATUSES,
  type TaskStore, type StoredTask, type StoredTaskStatus, type TaskPriority, type TaskListFilter, type TaskPage,
} from './aoa-tasks.js';
export { chainHash, encodeEntry, decodeEntry, linkInPlace, AUDIT_GENESIS, AUDIT_HASH_BYTES, AUDIT_LINK_PREFIX, AUDIT_MAX_RECORD_BYTES } from './audit-hash.js';
export {
  MemoryAuditChain, auditCheckpointSchema, chainAfter, EMPTY_HEAD, AUDIT_MAX_PAGE, AUDIT_MAX_CHECKPOINTS,
  type AuditChainStore, type AuditCheckpoint, type AuditEntry, type AuditHead, type AuditRecordBytes, type ChainedBatch,
} from './audit-chain.js';
export { LmdbAuditChain, AUDIT_DBS } from './lmdb-audit-chain.js';
export { verifyAuditChain, type AuditVerifyReport, type TrustedCheckpoint } from './audit-verify.js';
