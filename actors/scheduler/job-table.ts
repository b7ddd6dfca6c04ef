import { TroupeError } from '../../protocol/index.js';
import { JobCalendar } from './calendar.js';
import { DueHeap } from './due-heap.js';
import type { OverlapPolicy } from './job-spec.js';
import type { JobState } from './job-state.js';
import type { JobStore } from './job-store.js';
import { nextDueOf, pollRunning, submitPending, type JobEntry, type RunnerDeps } from './job-runner.js';
import { admit, decideDue, finishIfDone, resume, settle } from './planner.js';

/** Jobs one wake handles at most (the rest on the next, at once). */
export const MAX_JOBS_PER_WAKE = 5_000;

/** A change to one job, applied by the scheduler actor (its mailbox serializes them). */
export type JobChange =
  | { type: 'job.get'; id: string }
  | { type: 'job.pause'; id: string; note?: string | undefined }
  | { type: 'job.resume'; id: string; note?: string | undefined }
  | { type: 'job.trigger'; id: string }
  | { type: 'job.backfill'; id: string; from: number; to: number; overlap?: OverlapPolicy | undefined }
  | { type: 'job.settled'; id: string; taskId: string; status: 'completed' | 'failed' | 'cancelled' }
  | { type: 'job.remove'; id: string };

/** What the table works with: the runner's deps and the store. */
export interface JobTableDeps extends RunnerDeps {
  store: JobStore;
}

const live = (e: JobEntry): boolean => !e.removed;

/**
 * Every job of the node: the one copy of each job's state, and a heap of when each is next
 * due. Only the scheduler actor calls `wake` and `apply` (one at a time); `add` inserts a job
 * whose record is committed. A wake decides every due job, commits all their decisions in
 * one LMDB transaction, submits their tasks concurrently, and commits the outcomes in one
 * more: fires of many jobs due together cost two commits, not two each.
 */
export class JobTable {
  readonly entries = new Map<string, JobEntry>();
  private readonly heap = new DueHeap<JobEntry>();

  constructor(private readonly deps: JobTableDeps) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Hold a job whose record is committed: due at once when restored (its catch-up is
   * decided), else at its first nominal time (a new job has nothing due before it).
   */
  add(s: JobState, now: number, restored: boolean): JobEntry {
    const e: JobEntry = { s, cal: new JobCalendar(s.def), at: now, removed: false, more: false };
    if (!restored) e.at = nextDueOf(e, now, this.deps);
    this.entries.set(s.def.id, e);
    if (Number.isFinite(e.at)) this.heap.push(e);
    return e;
  }

  /** The earliest time a job is due, or undefined. */
  nextDue(): number | undefined {
    return this.heap.peek(live);
  }

  /** Decide, commit and submit every job due at `now`. */
  async wake(now: number): Promise<void> {
    const due = this.heap.popDue(now, live, MAX_JOBS_PER_WAKE);
    if (due.length === 0) return;
    try {
      await Promise.all(due.map((e) => pollRunning(e, now, this.deps)));
      await this.run(due, now, true);
    } catch (err) {
      // a failed commit: look at these jobs again after a poll interval (their decisions are made again)
      for (const e of due) {
        if (e.removed) continue;
        e.at = this.deps.clock.now() + this.deps.pollMs;
        this.heap.push(e);
      }
      throw err;
    }
  }

  /** Apply one change to a job; resolves with its state after the change is committed. */
  async apply(m: JobChange, now: number): Promise<JobState | undefined> {
    const e = this.entries.get(m.id);
    if (!e || e.removed) throw new TroupeError('TROUPE_ERR_SCHEDULER_JOB_NOT_FOUND', `no job ${m.id.slice(0, 100)}`);
    const s = e.s;
    switch (m.type) {
      case 'job.get':
        return s;
      case 'job.remove':
        e.removed = true;
        this.entries.delete(m.id);
        await this.deps.store.remove(m.id);
        return undefined;
      case 'job.pause':
        if (s.status === 'scheduled') {
          s.status = 'paused';
          if (m.note !== undefined) s.pauseNote = m.note;
        }
        break;
      case 'job.resume':
        resume(s, now, e.cal);
        break;
      case 'job.trigger':
        if (s.status === 'completed') throw new TroupeError('TROUPE_ERR_SCHEDULER_JOB_STATE', `job ${s.def.id} is completed`);
        admit(s, now, now, s.def.policy.overlap);
        break;
      case 'job.backfill': {
        const times = e.cal.between(m.from - 1, Math.min(m.to, now), 1_000);
        for (const t of times) admit(s, t, now, m.overlap ?? 'buffer-all');
        break;
      }
      case 'job.settled':
        settle(s, m.taskId, m.status, now, e.cal);
        break;
    }
    await this.run([e], now, false);
    return s;
  }

  /** Decide what is due, commit, submit, commit, and put each job back in the heap (`popped`: its item was taken off). */
  private async run(jobs: JobEntry[], now: number, popped: boolean): Promise<void> {
    for (const e of jobs) {
      const known = e.s.pending.length;
      e.more = decideDue(e.s, now, e.cal);
      for (let i = known; i < e.s.pending.length; i++) this.deps.fired(now - e.s.pending[i]!.nominal);
    }
    // every decision is committed before its task is submitted (a crash in between submits it again, same key)
    await this.deps.store.putMany(jobs.map((e) => e.s));
    // only jobs with fires to submit (or tasks to cancel) change again; a wake of status polls commits once
    const submitting = jobs.filter((e) => e.s.pending.length > 0 || e.s.running.some((r) => r.cancel));
    await Promise.all(submitting.map((e) => submitPending(e, this.deps)));
    for (const e of submitting) finishIfDone(e.s, e.cal);
    await this.deps.store.putMany(submitting.filter((e) => !e.removed).map((e) => e.s));
    const kept = jobs.filter((e) => !e.removed);
    const after = this.deps.clock.now();
    for (const e of kept) {
      const at = nextDueOf(e, after, this.deps);
      if (!popped && at === e.at) continue; // its item is still in the heap
      e.at = at;
      if (Number.isFinite(at)) this.heap.push(e);
    }
  }
}
