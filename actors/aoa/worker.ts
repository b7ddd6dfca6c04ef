import { z } from 'zod';
import { behaviour } from '../kernel/index.js';
import { Attempt } from './attempt.js';

/** `aoa.work`: run one task attempt (an {@link Attempt}: local only, it carries the handler); the attempt reports its own end. */
export type WorkMessage = Attempt;

const workSchema = z.custom<Attempt>((v) => v instanceof Attempt, 'aoa.work: a task attempt of this node');

/**
 * A task worker (`/system/aoa-worker-N`, permanent, restarted by its supervisor): starts the
 * attempt it is told to run. The runtime hands a worker one attempt at a time and learns of
 * its end from the attempt itself (no reply to wait for: a worker that is gone leaves the
 * attempt to its timeout). A worker is told when it was idle; one whose attempt ends while
 * claims wait goes on with the next without another message (see Executor).
 */
export const workerBehaviour = behaviour<null, WorkMessage, unknown>({
  initial: () => null,
  messages: workSchema,
  receive: (_s, m) => {
    m.run();
  },
});
