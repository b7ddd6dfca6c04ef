import { z } from 'zod';
import { behaviour, type ActorSpec } from '../kernel/index.js';
import type { Logger } from 'pino';
import type { AuditApi } from './audit-log.js';

/** Path of every node's audit actor: peers send their checkpoints here. */
export const AUDIT_ACTOR_PATH = 'system/audit';
/** Most witnessed checkpoints one `audit.witnessed` answer carries. */
const MAX_WITNESSED_REPLY = 1_000;

/** The audit actor's messages: a record to append (ask), a peer's checkpoint (tell), a witness query (ask). */
export const auditMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('audit.record'), input: z.unknown() }),
  z.object({ type: z.literal('audit.checkpoint'), checkpoint: z.unknown() }),
  z.object({ type: z.literal('audit.witnessed'), origin: z.string().min(1).max(200) }),
]);
export type AuditMessage = z.infer<typeof auditMessageSchema>;

/**
 * The audit actor (`/system/audit`): appends records asked of it by message (actors on any
 * node), keeps the checkpoints peer nodes send (witnessing their chains: signature, pinned
 * key and no second hash for a seq are checked), and answers which checkpoints of a node it
 * holds. Appends are batched by the log, not serialized by this mailbox: a record is handed
 * over and the turn moves on; the reply goes when it is committed.
 */
export function auditActorSpec(audit: AuditApi, logger: Logger): ActorSpec {
  return {
    name: 'audit',
    behaviour: behaviour<undefined, AuditMessage, unknown>({
      messages: auditMessageSchema,
      receive: (_s, m, ctx) => {
        switch (m.type) {
          case 'audit.record': {
            // resolved outside the turn: the mailbox never waits on a commit
            const r = ctx.expectsReply ? ctx.replier() : undefined;
            audit.record(m.input as never).then((rec) => r?.reply(rec), (e: unknown) => (r ? r.error(e) : logger.warn({ err: e }, 'audit record refused')));
            return;
          }
          case 'audit.checkpoint': {
            const from = ctx.sender?.node;
            const origin = (m.checkpoint as { origin?: unknown } | null)?.origin;
            // only the origin itself sends its checkpoints (the cluster vouches for the sender's node)
            if (from === undefined || origin !== from) {
              logger.warn({ from, origin: String(origin).slice(0, 200) }, 'audit checkpoint refused: a node sends only its own');
              return;
            }
            audit.witness(m.checkpoint).catch((e: unknown) => logger.warn({ err: e, from }, 'audit checkpoint refused'));
            return;
          }
          case 'audit.witnessed':
            ctx.reply(audit.witnessed(m.origin).slice(-MAX_WITNESSED_REPLY));
            return;
        }
      },
    }),
  };
}
