import { TroupeError } from '../../protocol/index.js';

/** What an agent knows of its runs when it refuses one. */
export interface RunLoad {
  readonly agent: string;
  readonly maxConcurrentRuns: number;
  /** Runs executing now. */
  readonly active: number;
  /** Runs waiting for a slot. */
  readonly queued: number;
  /** Recent run durations, smoothed (undefined before the first run ends). */
  readonly avgRunMs: number | undefined;
}

/**
 * What a refused caller is told to wait (Retry-After): about the time the runs ahead of it
 * take, between 1 s and 60 s.
 *
 * @example
 * retryAfterMs({ agent: 'a', maxConcurrentRuns: 4, active: 4, queued: 8, avgRunMs: 500 }); // 1500
 */
export function retryAfterMs(load: RunLoad): number {
  return Math.min(60_000, Math.max(1_000, Math.ceil((load.avgRunMs ?? 1_000) * (1 + load.queued / load.maxConcurrentRuns))));
}

/** Every slot busy and the queue full: `TROUPE_ERR_AGENT_BUSY`. */
export function busyError(load: RunLoad): TroupeError {
  return new TroupeError('TROUPE_ERR_AGENT_BUSY', `agent ${load.agent} has ${load.active} runs in flight and ${load.queued} queued`, {
    details: { active: load.active, queued: load.queued, retryAfterMs: retryAfterMs(load) },
  });
}

/** The caller already holds its share of the queue (`limits.maxQueuedRunsPerCaller`). */
export function shareExceededError(load: RunLoad, share: number): TroupeError {
  return new TroupeError('TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED', `this caller already has ${share} runs waiting for agent ${load.agent} (limits.maxQueuedRunsPerCaller)`, {
    details: { maxQueuedRunsPerCaller: share, retryAfterMs: retryAfterMs(load) },
  });
}

/** A queued run found no slot within its queue deadline. */
export function queueTimeoutError(load: RunLoad, deadlineMs: number): TroupeError {
  return new TroupeError('TROUPE_ERR_AGENT_QUEUE_TIMEOUT',
    `agent ${load.agent} could not start the run within its queue deadline of ${deadlineMs}ms: all ${load.maxConcurrentRuns} run slots stayed busy`,
    { details: { queueDeadlineMs: deadlineMs, active: load.active, queued: load.queued, retryAfterMs: retryAfterMs(load) } });
}
