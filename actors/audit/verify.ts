import { verifyAuditChain, type AuditChainStore, type AuditCheckpoint, type TrustedCheckpoint } from '../../storage/index.js';
import { checkCheckpoint } from './checkpoint.js';
import { checkStoredRecord } from './record.js';

/** `GET /api/v1/audit/verify` and `troupe audit verify`. */
export interface AuditVerification {
  ok: boolean;
  /** Records whose link checked out (all of them when ok). */
  checked: number;
  /** The first sequence number that is wrong: edited, missing, out of place, inserted or cut off. */
  first_bad_seq?: number;
  reason?: string;
  head_seq: number;
  /** Checkpoints (own and given) the walk was compared with. */
  checkpoints: number;
  /** Checkpoints that were refused (bad signature, another key, another origin); any makes `ok` false. */
  invalid_checkpoints: number;
}

/**
 * Verify this node's chain: every signed checkpoint (its own, kept in the data dir, and
 * `extra` ones from peers or a file) must be signed with `publicKey` for `origin`; the walk
 * must match each of them (a truncation is caught against a checkpoint past the end). The
 * hashes cover every stored byte; `deep` also parses each record and checks it carries its
 * own seq (a writer bug, not tampering, is what that adds; it costs a JSON parse per record).
 *
 * @example
 * const v = verifyOwnChain(chain, 'n1', key.publicKey);
 * if (!v.ok) log.error(v, 'audit chain broken');
 */
export function verifyOwnChain(chain: AuditChainStore, origin: string, publicKey: string, extra: readonly AuditCheckpoint[] = [], options: { deep?: boolean } = {}): AuditVerification {
  let invalid = 0;
  const trusted: TrustedCheckpoint[] = [];
  let own: AuditCheckpoint[];
  try {
    own = chain.checkpoints();
  } catch {
    own = [];
    invalid++;
  }
  for (const [source, list] of [['own', own], ['given', extra]] as const) {
    for (const cp of list) {
      try {
        const c = checkCheckpoint(cp, publicKey);
        if (c.origin !== origin) throw new Error('another origin');
        trusted.push({ seq: c.seq, hash: c.hash, source: `${source} checkpoint` });
      } catch {
        invalid++;
      }
    }
  }
  let r;
  try {
    r = verifyAuditChain(chain, trusted, options.deep ? checkStoredRecord : undefined);
  } catch (e) {
    // a head record that does not parse
    return { ok: false, checked: 0, reason: (e as Error).message, head_seq: 0, checkpoints: trusted.length, invalid_checkpoints: invalid };
  }
  return {
    ok: r.ok && invalid === 0,
    checked: r.checked,
    ...(r.firstBadSeq !== undefined ? { first_bad_seq: r.firstBadSeq } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : invalid > 0 ? { reason: `${invalid} checkpoint(s) failed their signature check` } : {}),
    head_seq: r.headSeq,
    checkpoints: trusted.length,
    invalid_checkpoints: invalid,
  };
}
