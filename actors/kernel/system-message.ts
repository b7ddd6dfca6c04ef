import type { Signal } from '../../protocol/index.js';

/**
 * What the kernel itself puts in a mailbox beside user messages. One base class, so the
 * turn loop tells them apart from user messages with a single `instanceof` per message.
 * They bypass the mailbox capacity and are not counted in its depth.
 */
export abstract class KernelMessage {}

/** A system signal travelling through the mailbox, so it is ordered with messages. */
export class SignalMessage extends KernelMessage {
  constructor(readonly signal: Signal) {
    super();
  }
}

/**
 * A timer's message. `ticket` identifies the timer it came from: when the key was cancelled
 * or started again since, the ticket is stale and the message is dropped, never delivered.
 */
export class TimerMessage extends KernelMessage {
  constructor(readonly message: unknown, readonly ticket: TimerTicket) {
    super();
  }
}

/** One started timer: its key, whether it repeats, and whether a tick of it waits in the mailbox. */
export interface TimerTicket {
  readonly key: string;
  readonly periodic: boolean;
  /** A tick is queued and not handled yet (a periodic timer then skips its next tick). */
  queued: boolean;
  handle: unknown;
}
