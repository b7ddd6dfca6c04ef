import type { Key } from 'lmdb';
import { z } from 'zod';
import { TroupeError, describeIssues } from '../protocol/index.js';
import type { StoreDb } from './node-store.js';

/**
 * Schema version written into every record. A later release that changes a record's shape
 * bumps it and upcasts older versions on read.
 */
export const RECORD_VERSION = 1;

/**
 * A journal entry as stored under `[persistenceKey, seq]` in the `journal` db.
 *
 * @example
 * journalRecordSchema.parse({ v: 1, seq: 1, at: Date.now(), event: { type: 'counter.added', n: 1 } });
 */
export const journalRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  seq: z.number().int().positive(),
  at: z.number(),
  event: z.unknown(),
});

/** A stored journal entry. */
export type JournalRecord = z.infer<typeof journalRecordSchema>;

/**
 * A snapshot as stored under `[persistenceKey, seq]` in the `snapshots` db: the state right
 * after event `seq` was applied.
 *
 * @example
 * snapshotRecordSchema.parse({ v: 1, seq: 1000, at: Date.now(), state: { count: 1000 } });
 */
export const snapshotRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  seq: z.number().int().positive(),
  at: z.number(),
  state: z.unknown(),
});

/** A stored snapshot. */
export type SnapshotRecord = z.infer<typeof snapshotRecordSchema>;

/** The coded error for a record lmdb-js could not decode at all. */
export function undecodableRecord(db: string, key: unknown, seq: number | undefined, cause: unknown): TroupeError {
  return corruptRecord(db, key, seq, `undecodable: ${(cause as Error)?.message ?? String(cause)}`, cause);
}

/**
 * The coded error for a record that failed to decode or validate. Names the db, the key
 * and the sequence number (when the record has one) in both message and details.
 *
 * @example
 * throw corruptRecord('journal', 'user/counter', 7, 'event: required');
 */
export function corruptRecord(db: string, key: unknown, seq: number | undefined, why: string, cause?: unknown): TroupeError {
  const at = seq === undefined ? '' : ` seq ${seq}`;
  return new TroupeError('TROUPE_ERR_STORAGE_CORRUPT_RECORD', `corrupt ${db} record for key ${JSON.stringify(key)}${at}: ${why}`, {
    cause,
    details: { db, key, seq },
  });
}

/**
 * Validate `value` against `schema`, throwing the coded corrupt-record error on failure.
 *
 * @example
 * const rec = parseRecord(journalRecordSchema, raw, 'journal', key, seq);
 */
export function parseRecord<T>(schema: z.ZodType<T>, value: unknown, db: string, key: unknown, seq: number | undefined): T {
  const r = schema.safeParse(value);
  if (!r.success) throw corruptRecord(db, key, seq, describeIssues(r.error));
  return r.data;
}

/** How a record is named in errors: its db and the key callers know it by. */
export interface RecordLabel {
  db: string;
  key: unknown;
}

/**
 * Read the record under `key` in `db` and validate it against `schema`; undefined when there
 * is none. A value lmdb-js cannot decode, or one of the wrong shape, throws the coded
 * corrupt-record error named by `label` and `seq`.
 *
 * @example
 * const rec = readRecord(store.snapshots, [key, 7], snapshotRecordSchema, { db: 'snapshots', key }, 7);
 */
export function readRecord<T>(db: StoreDb, key: Key, schema: z.ZodType<T>, label: RecordLabel, seq: number | undefined): T | undefined {
  let raw: unknown;
  try {
    raw = db.get(key);
  } catch (cause) {
    throw undecodableRecord(label.db, label.key, seq, cause);
  }
  return raw === undefined ? undefined : parseRecord(schema, raw, label.db, label.key, seq);
}
