import type { Logger } from 'pino';
import { z } from 'zod';
import { formatAddress, newId, parseAddress, type Envelope } from '../protocol/index.js';
import type { Kernel } from './kernel/index.js';

/**
 * Control envelope type: "your durable envelope `id` to `to` was dead-lettered here, for
 * `reason`". The receiver acknowledged the envelope when its inbox stored it, so the sender
 * no longer holds it; this is how the sender learns that it will never be processed.
 */
export const DURABLE_UNDELIVERABLE = 'troupe.durable.undeliverable';

/** Why a receiver gives up on a durable envelope for good. */
export type DurableFinalReason = 'not-found' | 'invalid';

const noticePayload = z.strictObject({
  id: z.string().min(1).max(128),
  to: z.string().min(1).max(2048),
  type: z.string().min(1).max(256),
  reason: z.enum(['not-found', 'invalid']),
});

/**
 * The notice for the node `env` came from (none when that is unknown or this node).
 *
 * @example const notice = undeliverableNotice('b', env, 'a', 'not-found', Date.now());
 */
export function undeliverableNotice(self: string, env: Envelope, fromNode: string, reason: DurableFinalReason, now: number): { node: string; env: Envelope } | undefined {
  const node = fromNode !== '' ? fromNode : env.from !== undefined ? parseAddress(env.from)?.node : undefined;
  if (node === undefined || node === self) return undefined;
  return {
    node,
    env: {
      id: newId(),
      to: formatAddress(node, 'system'),
      type: DURABLE_UNDELIVERABLE,
      createdAt: Math.floor(now),
      from: formatAddress(self, 'system'),
      payload: { id: env.id, to: env.to, type: env.type, reason },
    },
  };
}

/**
 * A notice from `fromNode`: record the sender's own dead letter, with the receiver's reason.
 * Only the node the envelope was addressed to may say so; anything else is ignored.
 *
 * @example onUndeliverableNotice(kernel, env, fromNode);
 */
export function onUndeliverableNotice(kernel: Kernel, notice: Envelope, fromNode: string): void {
  const r = noticePayload.safeParse(notice.payload);
  if (!r.success || parseAddress(r.data.to)?.node !== fromNode) return;
  const { id, to, type, reason } = r.data;
  kernel.deadLetterEnvelope({ id, to, type, createdAt: Math.floor(kernel.clock.now()), payload: undefined, durable: true }, reason);
}

/**
 * The feed's `onFinal`: tell the sender of a durable envelope dead-lettered here, over
 * `send` (a plain send: if the sender's node is unreachable now, it is not told).
 *
 * @example new DurableFeed(kernel, { atomicDone: true, onFinal: tellSender(kernel, send, log) });
 */
export function tellSender(kernel: Kernel, send: (node: string, env: Envelope) => void, log: Logger): (env: Envelope, reason: DurableFinalReason, fromNode: string) => void {
  return (env, reason, fromNode) => {
    const notice = undeliverableNotice(kernel.id, env, fromNode, reason, kernel.clock.now());
    if (notice === undefined) return;
    try {
      send(notice.node, notice.env);
    } catch (err) {
      log.warn({ err, id: env.id, node: notice.node }, 'could not tell the sender of a dead-lettered durable envelope');
    }
  };
}
