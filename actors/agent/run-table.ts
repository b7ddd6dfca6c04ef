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

/**
 * What one incarnation keeps outside its persisted state while it holds runs: runs in flight
 * and queued. Made by the agent's first run and dropped once it holds none, so an idle agent
 * holds no map, set or queue.
 */
export class Runtime {
  readonly active = new Map<string, Active>();
  readonly queue = new RunQueue();
  /** When the queue-deadline timer fires next, if it is set. */
  queueTimerAt: number | undefined;
  /** Conversations with a run in flight: runs of one conversation go one at a time. */
  readonly busy = new Set<string>();

  /** True when it holds no run, in flight or queued. */
  get empty(): boolean {
    return this.active.size === 0 && this.queue.size === 0;
  }
}
