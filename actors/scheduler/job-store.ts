import { describeIssues } from '../../protocol/index.js';
import { corruptRecord, type NodeStore } from '../../storage/index.js';
import { jobStateSchema, type JobState } from './job-state.js';

/** The LMDB database of schedules, keyed by job id. */
export const SCHEDULES_DB = 'schedules';

/** Where job records live: LMDB on a node with a data dir, memory otherwise. */
export interface JobStore {
  /** Resolves after the commit. */
  put(s: JobState): Promise<void>;
  /** Several records in one commit; resolves after it. */
  putMany(states: JobState[]): Promise<void>;
  remove(id: string): Promise<void>;
  /** Every stored job, checked; a record that fails is reported through `bad` and skipped. */
  all(bad: (id: string, e: unknown) => void): JobState[];
}

/** The `schedules` database of the node's LMDB environment. */
export class LmdbJobStore implements JobStore {
  constructor(private readonly store: NodeStore) {}

  put(s: JobState): Promise<void> {
    return this.store.put(this.store.db(SCHEDULES_DB), s.def.id, s);
  }

  putMany(states: JobState[]): Promise<void> {
    if (states.length === 0) return Promise.resolve();
    const db = this.store.db(SCHEDULES_DB);
    return this.store.batch(() => {
      for (const s of states) void db.put(s.def.id, s);
    });
  }

  remove(id: string): Promise<void> {
    return this.store.remove(this.store.db(SCHEDULES_DB), id);
  }

  all(bad: (id: string, e: unknown) => void): JobState[] {
    const out: JobState[] = [];
    for (const { key, value } of this.store.db(SCHEDULES_DB).getRange({})) {
      const r = jobStateSchema.safeParse(value);
      if (r.success) out.push(r.data);
      else bad(String(key), corruptRecord(SCHEDULES_DB, key, undefined, describeIssues(r.error)));
    }
    return out;
  }
}

/** The in-memory twin (not durable): a node without a data dir. */
export class MemoryJobStore implements JobStore {
  private readonly map = new Map<string, JobState>();

  put(s: JobState): Promise<void> {
    this.map.set(s.def.id, structuredClone(s));
    return Promise.resolve();
  }

  putMany(states: JobState[]): Promise<void> {
    for (const s of states) this.map.set(s.def.id, structuredClone(s));
    return Promise.resolve();
  }

  remove(id: string): Promise<void> {
    this.map.delete(id);
    return Promise.resolve();
  }

  all(): JobState[] {
    return [...this.map.values()].map((s) => structuredClone(s));
  }
}
