import { z } from 'zod';
import { behaviour } from '../kernel/index.js';

/** `aoa.work`: run one task attempt; the ask is answered with its result or error. Local only (carries a function). */
export interface WorkMessage {
  type: 'aoa.work';
  taskId: string;
  run: () => Promise<unknown>;
}

const workSchema = z.object({ type: z.literal('aoa.work'), taskId: z.string(), run: z.custom<() => Promise<unknown>>((v) => typeof v === 'function') });

/**
 * A task worker (`/system/aoa-worker-N`, permanent, restarted by its supervisor): runs the
 * attempt it is handed and answers the runtime's ask when the attempt settles. The runtime
 * hands a worker one attempt at a time.
 */
export const workerBehaviour = behaviour<null, WorkMessage, unknown>({
  initial: () => null,
  messages: workSchema as z.ZodType<WorkMessage>,
  receive: (_s, m, ctx) => {
    const r = ctx.replier();
    ctx.log.debug({ task: m.taskId }, 'task attempt started');
    m.run().then((v) => r.reply(v), (e: unknown) => r.error(e));
  },
});
