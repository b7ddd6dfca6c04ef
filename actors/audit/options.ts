import { z } from 'zod';

/**
 * The audit log's options (config key `audit`), validated once, with finite defaults:
 * records waiting for the writer are committed together, at most `batchMaxRecords` per LMDB
 * transaction (the first record of an idle log is written at once, so batching adds no
 * latency), at most `commitsInFlight` appends in flight (pipelined); past `maxPending` waiting records, `record()` is refused. A signed checkpoint is
 * made every `checkpointEvery` records or `checkpointIntervalMs` (when the head moved) and
 * at shutdown, logged, kept and sent to the peer nodes.
 */
export const auditOptionsSchema = z.strictObject({
  batchMaxRecords: z.number().int().min(1).max(10_000).default(512),
  /**
   * Appends in flight at once: the next is queued in LMDB while one commits (1: one at a
   * time, each taking every record waiting). LMDB runs one write transaction at a time, so
   * two in flight halve the records per transaction; where a commit costs more than making
   * its batch (a slow or busy disk, a shared machine) one at a time is cheaper per record.
   */
  commitsInFlight: z.number().int().min(1).max(16).default(1),
  maxPending: z.number().int().min(1).max(1_000_000).default(50_000),
  checkpointEvery: z.number().int().min(1).max(10_000_000).default(1_000),
  checkpointIntervalMs: z.number().int().min(100).max(86_400_000).default(60_000),
  /** Largest page of `GET /api/v1/audit`; a page scans at most `maxScan` records. */
  maxScan: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Write a `RACI_AUDIT` pino line for every committed record (info level). */
  logRecords: z.boolean().default(true),
});

export type AuditOptionsInput = z.input<typeof auditOptionsSchema>;
export type AuditOptions = z.output<typeof auditOptionsSchema>;
