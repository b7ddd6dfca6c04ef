import type { Timed } from '../../protocol/index.js';
import type { RunMessage } from './messages.js';
import type { RunAbort } from './model/index.js';

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
  readonly queue: Queued[] = [];
  /** Conversations with a run in flight: runs of one conversation go one at a time. */
  readonly busy = new Set<string>();
  failures = 0;
}
