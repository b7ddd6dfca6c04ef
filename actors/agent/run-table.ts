import type { Timed } from '../../protocol/index.js';
import type { RunMessage } from './messages.js';
import type { RunAbort } from './model/index.js';
import { RunQueue } from './run-queue.js';

/** A run waiting for a slot. */
export interface Queued {
  msg: RunMessage;
  at: number;
  correlationId: string | undefined;
}

/** A run executing, with its abort handle and timeout. */
export interface Active extends Queued {
  controller: RunAbort;
  timer: Timed;
  startedAt: number;
}

/** What one incarnation keeps outside its persisted state: runs in flight and health. */
export class Runtime {
  readonly active = new Map<string, Active>();
  readonly queue = new RunQueue();
  /** When the queue-deadline timer fires next, if it is set. */
  queueTimerAt: number | undefined;
  /** Recent run durations, smoothed: what a refused caller is told to wait (Retry-After). */
  avgRunMs: number | undefined;
  /** Conversations with a run in flight: runs of one conversation go one at a time. */
  readonly busy = new Set<string>();
  failures = 0;
}
