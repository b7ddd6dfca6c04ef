import type { AuditChainStore } from '../../storage/index.js';
import { parseRecord, type AuditRecord } from './record.js';

/** Filters of `GET /api/v1/audit` and `audit.query()`; times are epoch ms, inclusive. */
export interface AuditQuery {
  action?: string;
  /** The record's `agent` (or its `actor`, when an agent acted). */
  agent?: string;
  correlationId?: string;
  from?: number;
  to?: number;
  /** Continue after this seq (the `next` of the previous page). */
  after?: number;
  /** Page size (default 100, at most 1,000). */
  limit?: number;
}

/** A page of records in sequence order; `next` continues it. */
export interface AuditPage {
  records: AuditRecord[];
  next?: number;
}

export const AUDIT_DEFAULT_PAGE = 100;
export const AUDIT_MAX_PAGE_SIZE = 1_000;

function matches(r: AuditRecord, q: AuditQuery): boolean {
  if (q.action !== undefined && r.action !== q.action) return false;
  if (q.agent !== undefined && r.agent !== q.agent && r.actor !== q.agent) return false;
  if (q.correlationId !== undefined && r.correlation_id !== q.correlationId) return false;
  if (q.from !== undefined && r.ts < q.from) return false;
  if (q.to !== undefined && r.ts > q.to) return false;
  return true;
}

/**
 * Scan the chain from `after + 1` and collect matching records; a page scans at most
 * `maxScan` records, so a rare filter over a long log answers with fewer records and a
 * `next` to go on from. Stored bytes that are not a record are skipped (verify names them).
 */
export function queryRecords(chain: AuditChainStore, q: AuditQuery, maxScan: number): AuditPage {
  const limit = Math.min(Math.max(1, q.limit ?? AUDIT_DEFAULT_PAGE), AUDIT_MAX_PAGE_SIZE);
  const records: AuditRecord[] = [];
  let scanned = 0;
  let lastSeq = q.after ?? 0;
  for (const e of chain.entries({ from: lastSeq + 1 })) {
    if (!Number.isSafeInteger(e.seq)) break;
    if (scanned >= maxScan) return { records, next: lastSeq };
    scanned++;
    lastSeq = e.seq;
    const r = parseRecord(e.bytes);
    if (!r || !matches(r, q)) continue;
    if (records.length === limit) return { records, next: records.at(-1)!.seq };
    records.push(r);
  }
  return { records };
}

/** The snake-case filter of `GET /api/v1/audit` and the `audit_query` tool, as an {@link AuditQuery}. */
export function auditQueryOf(q: { action?: string; agent?: string; correlation_id?: string; from?: number; to?: number; after?: number; limit?: number }): AuditQuery {
  return {
    ...(q.action !== undefined ? { action: q.action } : {}),
    ...(q.agent !== undefined ? { agent: q.agent } : {}),
    ...(q.correlation_id !== undefined ? { correlationId: q.correlation_id } : {}),
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(q.to !== undefined ? { to: q.to } : {}),
    ...(q.after !== undefined ? { after: q.after } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
  };
}
