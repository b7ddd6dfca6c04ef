import { z } from 'zod';
import { serializeError, terminatedSchema } from '../protocol/index.js';
import type { ReplyChannel } from './kernel/index.js';

// Control envelopes between nodes; user messages never use these types.
/** An answer: the payload is the value itself. */
export const REPLY = 'troupe.reply';
/** A failed ask: the payload is the serialized error. */
export const REPLY_ERROR = 'troupe.reply.error';
export const WATCH = 'troupe.watch';
export const UNWATCH = 'troupe.unwatch';
export const TERMINATED = 'troupe.terminated';
export const LOOKUP = 'troupe.lookup';

export const watchPayload = z.object({ watchId: z.string().min(1).max(128) });
export const terminatedPayload = z.object({
  watchId: z.string().min(1).max(128),
  signal: terminatedSchema,
});
export const lookupPayload = z.object({ path: z.string().min(1).max(1024) });

/** What sends a reply envelope to an asker's node. */
export interface ReplySender {
  sendReply(node: string, to: string, type: typeof REPLY | typeof REPLY_ERROR, payload: unknown): void;
}

/** The way back to an asker on another node: one reply or error, then nothing. */
export class RemoteReply implements ReplyChannel {
  private done = false;

  constructor(
    private readonly cluster: ReplySender,
    private readonly to: string,
    private readonly node: string,
  ) {}

  reply(value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.cluster.sendReply(this.node, this.to, REPLY, value);
  }

  error(e: unknown): void {
    if (this.done) return;
    this.done = true;
    this.cluster.sendReply(this.node, this.to, REPLY_ERROR, serializeError(e));
  }
}
