import { z } from 'zod';
import type { Behaviour } from '../kernel/index.js';
import { KILLSWITCH_SCOPES, killSwitchRecordSchema } from './record.js';
import type { KillSwitchMessage, Switchboard } from './switchboard.js';

/** Messages of `/system/killswitch`, checked on arrival (they come from other nodes). */
export const killSwitchMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('killswitch.engage'), record: killSwitchRecordSchema }),
  z.object({ type: z.literal('killswitch.release'), scope: z.enum(KILLSWITCH_SCOPES), target: z.string().min(1).max(512), by: z.string().max(200) }),
]);

/**
 * `/system/killswitch`: takes the cluster-scope switches other nodes engage or release, and
 * applies them here (persisted like a local one).
 */
export function killSwitchBehaviour(board: () => Switchboard | undefined): Behaviour<undefined, KillSwitchMessage> {
  return {
    messages: killSwitchMessageSchema as z.ZodType<KillSwitchMessage>,
    initial: () => undefined,
    receive: (_s, msg, ctx) => {
      const b = board();
      if (!b) return;
      b.received(msg).catch((e: unknown) => ctx.log.warn({ err: e, type: msg.type }, 'could not apply a kill switch from another node'));
    },
  };
}
