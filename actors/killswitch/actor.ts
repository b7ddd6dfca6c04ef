import { z } from 'zod';
import type { Behaviour } from '../kernel/index.js';
import { KILLSWITCH_SCOPES, killSwitchRecordSchema } from './record.js';
import type { KillSwitchMessage, Switchboard } from './switchboard.js';

/** Messages of `/system/killswitch`, checked on arrival (they come from other nodes). */
export const killSwitchMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('killswitch.engage'), record: killSwitchRecordSchema }),
  z.object({
    type: z.literal('killswitch.release'), scope: z.enum(KILLSWITCH_SCOPES), target: z.string().min(1).max(512), by: z.string().max(200),
    /** When (origin's clock, after every change it knew of) and where it was released; a sender without them is taken as newest. */
    at: z.number().optional(), origin: z.string().max(128).optional(),
  }),
]);

/**
 * `/system/killswitch`: takes the cluster-scope switches other nodes engage or release (sent
 * durably), and applies them here, persisted like a local one, before its turn ends.
 */
export function killSwitchBehaviour(board: () => Switchboard | undefined): Behaviour<undefined, KillSwitchMessage> {
  return {
    messages: killSwitchMessageSchema as z.ZodType<KillSwitchMessage>,
    initial: () => undefined,
    receive: (_s, msg, ctx) => {
      const b = board();
      if (!b) return undefined;
      // the turn ends once the switch is persisted: only then is a durable delivery marked
      // done; a failed write crashes the turn, so the message is handled again after the restart
      return b.received(msg).catch((e: unknown) => {
        ctx.log.warn({ err: e, type: msg.type }, 'could not apply a kill switch from another node');
        throw e;
      });
    },
  };
}
