/**
 * Internal: the agent's queue-deadline timer fired (one kernel timer for the whole queue,
 * set to the earliest deadline). Like RunFinished, only an instance is let in, so no other
 * actor can send it.
 *
 * @example
 * ctx.timers.startSingle(QUEUE_TIMER, delayMs, new QueueTick());
 */
export class QueueTick {
  readonly type = 'agent.queue-tick' as const;
}

/** The key of the agent's queue-deadline timer. */
export const QUEUE_TIMER = 'queue-deadline';
