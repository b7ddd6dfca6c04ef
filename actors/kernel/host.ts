import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index.js';
import type { DeadLetterReason } from '../../storage/index.js';
import type { AskOptions, TellOptions } from './behaviour.js';
import type { Cell } from './cell.js';
import type { Dispatcher } from './dispatcher.js';
import type { KernelFaults } from './faults.js';
import type { InspectionEvent } from './inspection.js';
import type { Meta } from './meta.js';
import type { ActorJournal } from './persistence.js';
import type { ActorRef } from './ref.js';
import type { Watcher } from './watch.js';

/** What a cell needs from its node: a narrow interface, so cells never see the node's internals. */
export interface CellHost {
  readonly id: string;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly defaultMailboxCapacity: number;
  /** Drill fault hooks (inactive unless a drill armed one). */
  readonly faults: KernelFaults;
  random(): number;
  emit(event: InspectionEvent): void;
  register(cell: Cell): void;
  unregister(cell: Cell): void;
  deadLetter(reason: DeadLetterReason, to: string, message: unknown, meta: Meta | undefined, error?: unknown): void;
  openJournal(key: string, spec: { snapshotEvery?: number; keepSnapshots?: number }): ActorJournal;
  tell(ref: ActorRef | string, message: unknown, options?: TellOptions): void;
  ask<R>(ref: ActorRef | string, message: unknown, options?: AskOptions): Promise<R>;
  watch(watcher: Watcher, ref: ActorRef | string): void;
  unwatch(watcher: Watcher, ref: ActorRef | string): void;
  /** The watcher stopped: drop its watches. */
  releaseWatches(watcher: Watcher): void;
}
