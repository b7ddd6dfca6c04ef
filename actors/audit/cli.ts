import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isTroupeError } from '../../protocol/index.js';
import { LmdbAuditChain, NodeStore, auditCheckpointSchema } from '../../storage/index.js';
import { parseCommandArgs, type CliCommand } from '../modules/index.js';
import { AUDIT_KEY_FILE, AuditSigningKey } from './signing-key.js';
import { verifyOwnChain } from './verify.js';

const USAGE = `usage: troupe audit verify --data DIR [--node ID] [--checkpoints FILE] [--deep]
  Walks the audit hash chain in the data dir of a stopped node and its signed checkpoints
  (and those in FILE: a JSON array of checkpoints, e.g. from peers or logs), prints the
  result as JSON and exits 0 when the chain is intact, 1 when it is not (naming the first
  bad sequence number). --node is the node id (default: the origin of the stored checkpoints);
  --deep also parses every record and checks it carries its own seq.`;

/** Most checkpoints a --checkpoints file may hold. */
const MAX_FILE_CHECKPOINTS = 100_000;

/** `troupe audit verify --data DIR`: verify a stopped node's audit chain offline. */
export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'Verify the hash-chained audit log of a stopped node (audit verify --data DIR) and name the first bad record.',
  async run(argv, io) {
    const args = parseCommandArgs('audit', argv, { data: { type: 'string' }, node: { type: 'string' }, checkpoints: { type: 'string' }, deep: { type: 'boolean' } }, USAGE, io);
    if (typeof args === 'number') return args;
    const { values, positionals } = args;
    if (positionals.length !== 1 || positionals[0] !== 'verify' || typeof values['data'] !== 'string') {
      io.stderr(`troupe audit: TROUPE_ERR_CONFIG_INVALID: expected 'verify --data DIR'\n${USAGE}`);
      return 2;
    }
    const dir = values['data'];
    let extra: z.infer<typeof auditCheckpointSchema>[] = [];
    if (typeof values['checkpoints'] === 'string') {
      try {
        extra = z.array(auditCheckpointSchema).max(MAX_FILE_CHECKPOINTS).parse(JSON.parse(readFileSync(values['checkpoints'], 'utf8')));
      } catch {
        io.stderr('troupe audit: TROUPE_ERR_CONFIG_INVALID: --checkpoints is not a JSON array of audit checkpoints');
        return 2;
      }
    }
    let store: NodeStore | undefined;
    try {
      const key = AuditSigningKey.read(join(dir, AUDIT_KEY_FILE));
      store = await NodeStore.open({ dir });
      const chain = new LmdbAuditChain(store);
      const node = typeof values['node'] === 'string' ? values['node'] : (chain.checkpoints()[0]?.origin ?? extra[0]?.origin ?? '');
      const v = verifyOwnChain(chain, node, key.publicKey, extra, { deep: values['deep'] === true });
      io.stdout(JSON.stringify({ node, ...v }, null, 2));
      return v.ok ? 0 : 1;
    } catch (e) {
      io.stderr(`troupe audit: ${isTroupeError(e) ? `${e.code}: ${e.message}` : (e as Error).message}`);
      return 1;
    } finally {
      await store?.close();
    }
  },
};
