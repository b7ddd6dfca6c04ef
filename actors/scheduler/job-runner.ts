import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index.js';
import type { JobCalendar } from './calendar.js';
import { recordFire, type JobState } from './job-state.js';
import { settle } from './planner.js';
import { TERMINAL, type TaskSubmitter } from './submitter.js';

/** A job as the scheduler holds it: its state (the one copy), its calendar, and when it is next due. */
export interface JobEntry {
  s: JobState;
  cal: JobCalendar;
  /** When the scheduler must next look at this job (its heap key); Infinity when never. */
  at: number;
  /** Set when the job was deleted: its heap items are dead. */
  removed: boolean;
  /** The wake must come again at once (a decision hit its cap). */
  more: boolean;
}

/** What the per-job steps work with. */
export interface RunnerDeps {
  clock: Clock;
  submitter: () => TaskSubmitter;
  logger: Logger;
  /** How often a running task's status is read while one is in flight. */
  pollMs: number;
  /** Submit attempts before a fire is given up as submit_failed. */
  maxSubmitAttempts: number;
  /** Each fire's enqueue lateness (its task committed in the runtime, minus its nominal time). */
  lateness: (ms: number) => void;
  /** Each fire's lateness (the wake that decided it, minus its nominal time). */
  fired: (ms: number) => void;
}

function safeSubmitter(deps: RunnerDeps): TaskSubmitter | undefined {
  try {
    return deps.submitter();
  } catch {
    return undefined;
  }
}

/** Read the status of a job's running tasks (when the runtime can say) and settle the ended ones. */
export async function pollRunning(e: JobEntry, now: number, deps: RunnerDeps): Promise<void> {
  const s = e.s;
  if (s.running.length === 0) return;
  const sub = safeSubmitter(deps);
  if (!sub?.getTask) return;
  for (const r of [...s.running]) {
    try {
      const t = await sub.getTask(r.taskId);
      if (t && TERMINAL.has(t.status)) settle(s, r.taskId, t.status as 'completed' | 'failed' | 'cancelled', now, e.cal);
      else if (!t) settle(s, r.taskId, 'cancelled', now, e.cal);
    } catch (err) {
      deps.logger.warn({ err, job: s.def.id }, 'could not read a task status');
    }
  }
}

/**
 * Submit a job's decided fires (their decision is committed already): each task's idempotency
 * key is its fire id, so a fire submitted again after a crash maps to the same task. Then ask
 * the runtime to cancel the tasks that cancel-other marked.
 */
export async function submitPending(e: JobEntry, deps: RunnerDeps): Promise<void> {
  const s = e.s;
  let sub: TaskSubmitter | undefined;
  for (const p of [...s.pending]) {
    try {
      sub ??= deps.submitter();
      const body = { ...s.def.task, idempotency_key: p.fireId, scheduled_job_id: s.def.id, nominal_time: new Date(p.nominal).toISOString() };
      const t = await sub.submitTask(body);
      const at = deps.clock.now();
      deps.lateness(at - p.nominal);
      s.pending.splice(s.pending.indexOf(p), 1);
      recordFire(s, { fire_id: p.fireId, nominal: p.nominal, at, outcome: 'submitted', task_id: t.id });
      if (sub.getTask) s.running.push({ fireId: p.fireId, nominal: p.nominal, taskId: t.id });
    } catch (err) {
      p.attempts++;
      deps.logger.warn({ err, fire: p.fireId, attempts: p.attempts }, 'could not submit a fire\'s task');
      if (p.attempts >= deps.maxSubmitAttempts) {
        s.pending.splice(s.pending.indexOf(p), 1);
        s.counters.failed++;
        recordFire(s, { fire_id: p.fireId, nominal: p.nominal, at: deps.clock.now(), outcome: 'submit_failed' });
      }
    }
  }
  for (const r of s.running.filter((x) => x.cancel)) {
    delete r.cancel;
    try {
      await sub?.cancelTask?.(r.taskId);
    } catch (err) {
      deps.logger.warn({ err, task: r.taskId }, 'could not cancel a running task (cancel-other)');
    }
  }
}

/** When a job must next be looked at: its next jittered nominal time, a submit retry, a status poll, or now. */
export function nextDueOf(e: JobEntry, now: number, deps: RunnerDeps): number {
  const s = e.s;
  let at = Number.POSITIVE_INFINITY;
  if (e.more) at = now;
  if (s.status === 'scheduled') {
    const next = e.cal.nextAfter(s.cursor);
    if (next !== undefined) at = Math.min(at, next + e.cal.jitterOf(next));
  }
  if (s.pending.length > 0) at = Math.min(at, now + deps.pollMs * Math.min(60, 2 ** Math.max(0, (s.pending[0]?.attempts ?? 1) - 1)));
  if (s.running.length > 0) at = Math.min(at, now + deps.pollMs);
  return at;
}
