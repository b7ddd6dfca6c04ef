import { z } from 'zod';
import type { Clock } from '../../protocol/index.js';
import { MAX_TIMER_DELAY_MS, type Behaviour, type Context } from '../kernel/index.js';
import { overlapSchema } from './job-spec.js';
import type { JobTable } from './job-table.js';

const id = z.string().min(1).max(100);
const note = z.string().max(1_000).optional();

/** Messages of the scheduler actor (`/system/scheduler`). */
export const schedulerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sched.wake') }),
  z.object({ type: z.literal('sched.arm') }),
  z.object({ type: z.literal('job.get'), id }),
  z.object({ type: z.literal('job.pause'), id, note }),
  z.object({ type: z.literal('job.resume'), id, note }),
  z.object({ type: z.literal('job.trigger'), id }),
  z.object({ type: z.literal('job.backfill'), id, from: z.number(), to: z.number(), overlap: overlapSchema.optional() }),
  z.object({ type: z.literal('job.settled'), id, taskId: z.string().max(200), status: z.enum(['completed', 'failed', 'cancelled']) }),
  z.object({ type: z.literal('job.remove'), id }),
]);
export type SchedulerMessage = z.infer<typeof schedulerMessageSchema>;

/**
 * The one scheduler actor: it owns the node's one scheduler timer (on the node's clock,
 * clamped to setTimeout's limit), armed for the earliest due job of the table, and applies
 * every change to a job, so wakes and changes never interleave. A change that names no job
 * (or a completed job's trigger) is answered with its coded error; the actor goes on.
 * Restarted by its supervisor, it re-arms from the table (the state lives there).
 */
export function schedulerBehaviour(table: JobTable, clock: Clock, armed: () => void): Behaviour<null, SchedulerMessage> {
  const arm = (ctx: Context<SchedulerMessage>): void => {
    armed();
    const next = table.nextDue();
    if (next === undefined) {
      ctx.timers.cancel('wake');
      return;
    }
    const delay = next - clock.now();
    if (delay <= 0) {
      // due now (a restart's catch-up, a capped decision): no timer, so a manual clock need not move
      ctx.timers.cancel('wake');
      ctx.tell(ctx.self, { type: 'sched.wake' });
      return;
    }
    ctx.timers.startSingle('wake', Math.min(MAX_TIMER_DELAY_MS, delay), { type: 'sched.wake' });
  };
  return {
    messages: schedulerMessageSchema,
    initial: (ctx) => {
      ctx.tell(ctx.self, { type: 'sched.arm' });
      return null;
    },
    receive: async (_s, m, ctx) => {
      const now = clock.now();
      if (m.type === 'sched.arm') {
        arm(ctx);
        return null;
      }
      if (m.type === 'sched.wake') {
        try {
          await table.wake(now);
        } finally {
          arm(ctx);
        }
        return null;
      }
      try {
        const s = await table.apply(m, now);
        if (ctx.expectsReply) ctx.reply(s === undefined ? undefined : structuredClone(s));
      } catch (e) {
        if (ctx.expectsReply) ctx.replyError(e);
        else ctx.log.warn({ err: e, job: m.id }, 'a job change failed');
      } finally {
        arm(ctx);
      }
      return null;
    },
  };
}
