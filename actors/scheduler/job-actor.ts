import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, type Clock } from '../../protocol/index.js';
import { MAX_TIMER_DELAY_MS, type Behaviour, type Context } from '../kernel/index.js';
import { JobCalendar, fireId } from './calendar.js';
import type { OverlapPolicy } from './job-spec.js';
import { overlapSchema } from './job-spec.js';
import { recordFire, type JobState } from './job-state.js';
import type { JobStore } from './job-store.js';
import { admit, decideDue, finishIfDone, resume, settle } from './planner.js';
import { TERMINAL, type TaskSubmitter } from './submitter.js';

/** Messages of a job actor. */
export const jobMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job.wake') }),
  z.object({ type: z.literal('job.get') }),
  z.object({ type: z.literal('job.pause'), note: z.string().max(1_000).optional() }),
  z.object({ type: z.literal('job.resume'), note: z.string().max(1_000).optional() }),
  z.object({ type: z.literal('job.trigger') }),
  z.object({ type: z.literal('job.backfill'), from: z.number(), to: z.number(), overlap: overlapSchema.optional() }),
  z.object({ type: z.literal('job.settled'), taskId: z.string(), status: z.enum(['completed', 'failed', 'cancelled']) }),
]);
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** What a job actor works with. */
export interface JobDeps {
  clock: Clock;
  store: JobStore;
  submitter: () => TaskSubmitter;
  logger: Logger;
  /** Called with the state after every durable change (the scheduler's view for list and stats). */
  changed: (s: JobState) => void;
  /** How often a running task's status is read while one is in flight. */
  pollMs: number;
  /** Submit attempts before a fire is given up as submit_failed. */
  maxSubmitAttempts: number;
  /** Called with each fire's lateness (submit time minus nominal time), for stats. */
  lateness: (ms: number) => void;
}

interface Cell { s: JobState; cal: JobCalendar }

/**
 * One scheduler actor per job: it owns one timer (`wake`, on the node's clock, clamped to
 * setTimeout's limit) armed for the next thing due (the next jittered nominal time, a status
 * poll of a running task, or a submit retry). Every decision is committed before its task is
 * submitted, and the task's idempotency key is the fire id, so a fire enqueues once even when
 * the node dies between the commit and the submit.
 */
export function jobBehaviour(initial: JobState, deps: JobDeps): Behaviour<Cell, JobMessage> {
  return {
    messages: jobMessageSchema,
    initial: (ctx) => {
      ctx.tell(ctx.self, { type: 'job.wake' });
      return { s: structuredClone(initial), cal: new JobCalendar(initial.def) };
    },
    receive: async (cell, m, ctx) => {
      const { s, cal } = cell;
      const now = deps.clock.now();
      switch (m.type) {
        case 'job.get':
          ctx.reply(structuredClone(s));
          return cell;
        case 'job.pause':
          if (s.status === 'scheduled') {
            s.status = 'paused';
            if (m.note !== undefined) s.pauseNote = m.note;
          }
          break;
        case 'job.resume':
          resume(s, now, cal);
          break;
        case 'job.trigger':
          if (s.status === 'completed') throw new TroupeError('TROUPE_ERR_SCHEDULER_JOB_STATE', `job ${s.def.id} is completed`);
          admit(s, now, now, s.def.policy.overlap);
          break;
        case 'job.backfill': {
          const times = cal.between(m.from - 1, Math.min(m.to, now), 1_000);
          const overlap: OverlapPolicy = m.overlap ?? 'buffer-all';
          for (const t of times) admit(s, t, now, overlap);
          break;
        }
        case 'job.settled':
          settle(s, m.taskId, m.status, now, cal);
          break;
        case 'job.wake':
          await poll(s, cal, now);
          break;
      }
      let more = decideDue(s, now, cal);
      await deps.store.put(s);
      await submitPending(s, cal);
      finishIfDone(s, cal);
      await deps.store.put(s);
      deps.changed(s);
      if (ctx.expectsReply) ctx.reply(structuredClone(s));
      arm(s, cal, ctx, more);
      return cell;
    },
  };

  /** Read the status of running tasks (when the runtime can say) and settle the ended ones. */
  async function poll(s: JobState, cal: JobCalendar, now: number): Promise<void> {
    const sub = safeSubmitter();
    if (!sub?.getTask) return;
    for (const r of [...s.running]) {
      try {
        const t = await sub.getTask(r.taskId);
        if (t && TERMINAL.has(t.status)) settle(s, r.taskId, t.status as 'completed' | 'failed' | 'cancelled', now, cal);
        else if (!t) settle(s, r.taskId, 'cancelled', now, cal);
      } catch (e) {
        deps.logger.warn({ err: e, job: s.def.id }, 'could not read a task status');
      }
    }
  }

  function safeSubmitter(): TaskSubmitter | undefined {
    try {
      return deps.submitter();
    } catch {
      return undefined;
    }
  }

  async function submitPending(s: JobState, cal: JobCalendar): Promise<void> {
    let sub: TaskSubmitter | undefined;
    for (const p of [...s.pending]) {
      try {
        sub ??= deps.submitter();
        const body = { ...s.def.task, idempotency_key: p.fireId, scheduled_job_id: s.def.id, nominal_time: new Date(p.nominal).toISOString() };
        const t = await sub.submitTask(body);
        deps.lateness(deps.clock.now() - p.nominal);
        s.pending.splice(s.pending.indexOf(p), 1);
        recordFire(s, { fire_id: p.fireId, nominal: p.nominal, at: deps.clock.now(), outcome: 'submitted', task_id: t.id });
        if (sub.getTask) s.running.push({ fireId: p.fireId, nominal: p.nominal, taskId: t.id });
      } catch (e) {
        p.attempts++;
        deps.logger.warn({ err: e, fire: p.fireId, attempts: p.attempts }, 'could not submit a fire\'s task');
        if (p.attempts >= deps.maxSubmitAttempts) {
          s.pending.splice(s.pending.indexOf(p), 1);
          s.counters.failed++;
          recordFire(s, { fire_id: p.fireId, nominal: p.nominal, at: deps.clock.now(), outcome: 'submit_failed' });
        }
      }
    }
    const cancels = s.running.filter((r) => r.cancel);
    for (const r of cancels) {
      delete r.cancel;
      try {
        await sub?.cancelTask?.(r.taskId);
      } catch (e) {
        deps.logger.warn({ err: e, task: r.taskId }, 'could not cancel a running task (cancel-other)');
      }
    }
    void cal;
  }

  /** Arm the one timer for whatever is due first. */
  function arm(s: JobState, cal: JobCalendar, ctx: Context<JobMessage>, more: boolean): void {
    const now = deps.clock.now();
    let at = Number.POSITIVE_INFINITY;
    if (more) at = now;
    if (s.status === 'scheduled') {
      const next = cal.nextAfter(s.cursor);
      if (next !== undefined) at = Math.min(at, next + cal.jitterOf(next));
    }
    if (s.pending.length > 0) at = Math.min(at, now + deps.pollMs * Math.min(60, 2 ** Math.max(0, (s.pending[0]?.attempts ?? 1) - 1)));
    if (s.running.length > 0) at = Math.min(at, now + deps.pollMs);
    if (at === Number.POSITIVE_INFINITY) {
      ctx.timers.cancel('wake');
      return;
    }
    ctx.timers.startSingle('wake', Math.min(MAX_TIMER_DELAY_MS, Math.max(0, at - now)), { type: 'job.wake' });
  }
}

export { fireId };
