import { z } from 'zod';
import { describeIssues } from '../../protocol/index.js';
import { corruptRecord, type NodeStore } from '../../storage/index.js';
import { SESSION_STATUSES } from './session-state.js';

/** The LMDB database of session summaries, keyed by session id. */
export const SESSIONS_DB = 'sessions';

/** What the index keeps of a session: enough to list it, sweep it, and bring its actor back. */
export const sessionSummarySchema = z.object({
  v: z.literal(1),
  id: z.string().max(100),
  status: z.enum(SESSION_STATUSES),
  request: z.string().max(200),
  created_at: z.number(),
  updated_at: z.number(),
  expires_at: z.number(),
  nodes: z.number().int().min(0),
});
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

/** Where session summaries live: LMDB with a data dir, memory otherwise. The journal holds the truth. */
export interface SessionIndex {
  put(s: SessionSummary): Promise<void>;
  remove(id: string): Promise<void>;
  /** Every summary, checked; a record that fails is reported through `bad` and skipped. */
  all(bad: (id: string, e: unknown) => void): SessionSummary[];
}

/** The `sessions` database of the node's LMDB environment. */
export class LmdbSessionIndex implements SessionIndex {
  constructor(private readonly store: NodeStore) {}

  put(s: SessionSummary): Promise<void> {
    return this.store.put(this.store.db(SESSIONS_DB), s.id, s);
  }

  remove(id: string): Promise<void> {
    return this.store.remove(this.store.db(SESSIONS_DB), id);
  }

  all(bad: (id: string, e: unknown) => void): SessionSummary[] {
    const out: SessionSummary[] = [];
    for (const { key, value } of this.store.db(SESSIONS_DB).getRange({})) {
      const r = sessionSummarySchema.safeParse(value);
      if (r.success) out.push(r.data);
      else bad(String(key), corruptRecord(SESSIONS_DB, key, undefined, describeIssues(r.error)));
    }
    return out;
  }
}

/** The in-memory twin (a node without a data dir). */
export class MemorySessionIndex implements SessionIndex {
  private readonly map = new Map<string, SessionSummary>();

  put(s: SessionSummary): Promise<void> {
    this.map.set(s.id, { ...s });
    return Promise.resolve();
  }

  remove(id: string): Promise<void> {
    this.map.delete(id);
    return Promise.resolve();
  }

  all(): SessionSummary[] {
    return [...this.map.values()].map((s) => ({ ...s }));
  }
}
