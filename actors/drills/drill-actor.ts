import { z } from 'zod';
import { TroupeError } from '../../protocol/index.js';
import type { Behaviour } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';

/** Path of each node's drill actor (under /system), which peers' drills talk to. */
export const DRILL_ACTOR = 'drills';
/** Drills whose durable ledger one node keeps (oldest dropped first). */
const MAX_LEDGERS = 100;
/** Wait between accepting a kill-node and dying: the acceptance must leave on the link first. */
const KILL_DELAY_MS = 50;

const drillId = z.string().min(1).max(64);
/** What peers' drills send to `/system/drills`, checked on arrival. */
export const drillActorMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('drill.ping') }),
  z.object({ type: z.literal('drill.kill-node'), drill: drillId }),
  z.object({ type: z.literal('drill.durable'), drill: drillId, n: z.number().int().nonnegative().max(1_000_000) }),
  z.object({ type: z.literal('drill.ledger'), drill: drillId }),
]);
export type DrillActorMessage = z.infer<typeof drillActorMessageSchema>;

/** A partition drill's durable messages as the receiving node saw them. */
export interface DrillLedger {
  distinct: number;
  duplicates: number;
  /** Receiver's clock when the first one arrived. */
  firstAt?: number;
}

interface Ledger {
  seen: Set<number>;
  duplicates: number;
  firstAt?: number;
}

/**
 * `/system/drills`: answers pings (a peer's probe), keeps the ledger of a partition drill's
 * durable messages (each counted once; a second delivery is a duplicate), and, on a node that
 * allows drills, ends its own process with SIGKILL when a peer's kill-node drill asks.
 */
export function drillActor(host: ModuleHost, allowed: () => boolean, kill: () => void): Behaviour<undefined, DrillActorMessage> {
  const ledgers = new Map<string, Ledger>();
  return {
    messages: drillActorMessageSchema,
    initial: () => undefined,
    receive: (_s, msg, ctx) => {
      switch (msg.type) {
        case 'drill.ping':
          ctx.reply('pong');
          return;
        case 'drill.kill-node':
          if (!allowed()) {
            ctx.replyError(new TroupeError('TROUPE_ERR_DRILL_DISABLED', `drills are off on node ${host.id}; it was not killed`));
            return;
          }
          ctx.reply({ accepted: true, node: host.id });
          ctx.log.error({ drill: msg.drill }, 'kill-node drill: this process ends now with SIGKILL');
          host.clock.setTimeout(kill, KILL_DELAY_MS);
          return;
        case 'drill.durable': {
          let l = ledgers.get(msg.drill);
          if (!l) {
            l = { seen: new Set(), duplicates: 0 };
            ledgers.set(msg.drill, l);
            if (ledgers.size > MAX_LEDGERS) ledgers.delete(ledgers.keys().next().value as string);
          }
          l.firstAt ??= host.clock.now();
          if (l.seen.has(msg.n)) l.duplicates++;
          else l.seen.add(msg.n);
          return;
        }
        case 'drill.ledger': {
          const l = ledgers.get(msg.drill);
          const out: DrillLedger = { distinct: l?.seen.size ?? 0, duplicates: l?.duplicates ?? 0, ...(l?.firstAt !== undefined ? { firstAt: l.firstAt } : {}) };
          ctx.reply(out);
          return;
        }
      }
    },
  };
}
