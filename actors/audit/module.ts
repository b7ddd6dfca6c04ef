import { parseOrThrow } from '../../protocol/index.js';
import { LmdbAuditChain, MemoryAuditChain, auditCheckpointSchema, type AuditCheckpoint } from '../../storage/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { NodeModule } from '../modules/index.js';
import { AUDIT_ACTOR_PATH, auditActorSpec } from './audit-actor.js';
import { AuditLog, type AuditApi } from './audit-log.js';
import { auditCommand } from './cli.js';
import { auditMcpTools } from './mcp-tools.js';
import { auditOptionsSchema, type AuditOptionsInput } from './options.js';
import { registerAuditRoutes } from './routes.js';
import { AuditSigningKey } from './signing-key.js';

/** The audit module's name: `host.module<AuditApi>(AUDIT_MODULE)`. */
export const AUDIT_MODULE = 'audit';

/** How long verification waits for each peer's witnessed checkpoints. */
const PEER_ASK_MS = 2_000;

/**
 * The RACI audit log as a node module (seed 000 §5): a hash-chained log in LMDB (in memory
 * without a data dir) written by a batched writer, the audit actor `/system/audit`, signed
 * checkpoints sent to the peers (which keep them), routes `GET /api/v1/audit` and
 * `GET /api/v1/audit/verify`, and the `troupe audit verify` command. Other modules record
 * with `host.module<AuditApi>('audit').record(...)` when the node has it.
 *
 * @example
 * const node = await startNode({ dataDir: './data', modules: [...defaultModules()] });
 * await node.module<AuditApi>('audit').record({ action: 'DEPLOY', actor: 'ops', target: 'web' });
 */
export function auditModule(options: AuditOptionsInput = {}): NodeModule<AuditApi> {
  const o = parseOrThrow(auditOptionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid audit options');
  return {
    name: AUDIT_MODULE,
    commands: [auditCommand],
    start: (host) => {
      const chain = host.store ? new LmdbAuditChain(host.store) : new MemoryAuditChain();
      const key = AuditSigningKey.load(host.store?.dir);
      const log = host.logger.child({ module: 'audit' });
      let self: ActorRef | undefined;
      const publish = (cp: AuditCheckpoint): void => {
        for (const peer of host.peers()) {
          try {
            host.tell(`troupe://${peer}/${AUDIT_ACTOR_PATH}`, { type: 'audit.checkpoint', checkpoint: cp }, self ? { sender: self } : {});
          } catch (e) {
            log.warn({ err: e, peer }, 'audit checkpoint not sent to a peer');
          }
        }
      };
      const audit = new AuditLog(host, chain, key, o, publish);
      self = host.spawnSpec(auditActorSpec(audit, log), 'system');
      audit.start();
      log.info({ head: audit.head().seq, durable: chain.durable }, 'audit log open');
      const peerCheckpoints = async (): Promise<AuditCheckpoint[]> => {
        const answers = await Promise.all(host.peers().map((peer) => host
          .ask<unknown>(`troupe://${peer}/${AUDIT_ACTOR_PATH}`, { type: 'audit.witnessed', origin: host.id }, { timeoutMs: PEER_ASK_MS })
          .catch(() => [])));
        return answers.flatMap((a) => (Array.isArray(a) ? a : []))
          .flatMap((c) => {
            const r = auditCheckpointSchema.safeParse(c);
            return r.success && r.data.origin === host.id ? [r.data] : [];
          });
      };
      return {
        api: audit,
        routes: (table) => registerAuditRoutes(table, audit, peerCheckpoints),
        metrics: () => audit.metrics.registry.metrics(),
        mcpTools: auditMcpTools(audit),
        // after the other modules drained (their last actions are recorded), before storage closes
        release: () => audit.close(),
      };
    },
  };
}
