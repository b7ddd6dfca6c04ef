import type { ActorRef } from './ref.js';

/** Where the answer to an ask goes: a local promise, or an address on another node. */
export interface ReplyChannel {
  reply(value: unknown): void;
  error(e: unknown): void;
}

/**
 * Per-message metadata, queued beside the message in the cell's mailbox. Plain tells without metadata carry none,
 * so the hot path allocates nothing extra.
 */
export class Meta {
  attempts = 0;
  /** The handler replied (or replied with an error): the message counts as handled even if the actor stops before its handler returns. */
  answered = false;
  constructor(
    public replyTo: ReplyChannel | undefined,
    public sender: ActorRef | undefined,
    public correlationId: string | undefined,
    /** For durable deliveries: mark the inbox entry done once handled. */
    public onHandled?: () => void,
    public id?: string,
  ) {}
}
