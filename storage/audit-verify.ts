import type { AuditChainStore } from './audit-chain.js';
import { AUDIT_GENESIS, LinkChecker } from './audit-hash.js';

/** A checkpoint verification trusts: the chain's hash at a sequence number. */
export interface TrustedCheckpoint {
  seq: number;
  /** Hex SHA-256. */
  hash: string;
  /** Where it came from (own, a peer, a file), for the report. */
  source?: string;
}

/** What {@link verifyAuditChain} found. */
export interface AuditVerifyReport {
  ok: boolean;
  /** Records whose link checked out before the first bad one (all of them when ok). */
  checked: number;
  /** The stored head's sequence number. */
  headSeq: number;
  /** Checkpoints compared with the walk. */
  checkpoints: number;
  /** The first sequence number that is wrong (edited, missing, out of place, or cut off). */
  firstBadSeq?: number;
  reason?: string;
}

/**
 * Walk the chain from seq 1: each key must be the next sequence number, each stored hash
 * must be `SHA-256(0x00 || h_(i-1) || u64be(seq) || bytes)` of the stored bytes, each record
 * must pass `checkRecord`, each trusted checkpoint must match the walk, and the walk must end
 * exactly at the stored head and at or past every checkpoint (a truncation is caught there,
 * naming the first missing seq). Stops at the first bad sequence number.
 *
 * @example
 * const r = verifyAuditChain(chain, chain.checkpoints());
 * if (!r.ok) console.error(`audit chain broken at seq ${r.firstBadSeq}: ${r.reason}`);
 */
export function verifyAuditChain(
  chain: AuditChainStore,
  trusted: readonly TrustedCheckpoint[],
  checkRecord?: (bytes: Buffer, seq: number) => string | undefined,
): AuditVerifyReport {
  const byseq = new Map<number, TrustedCheckpoint[]>();
  for (const cp of trusted) byseq.set(cp.seq, [...(byseq.get(cp.seq) ?? []), cp]);
  const head = chain.storedHead();
  const base = { headSeq: head.seq, checkpoints: trusted.length };
  const links = new LinkChecker(AUDIT_GENESIS);
  let expected = 1;
  const bad = (seq: number, reason: string): AuditVerifyReport => ({ ok: false, checked: expected - 1, ...base, firstBadSeq: seq, reason });
  for (const e of chain.entries()) {
    if (e.seq !== expected) {
      if (Number.isNaN(e.seq)) return bad(expected, 'a key that is not a sequence number is in the log');
      return bad(expected, e.seq > expected ? `record ${expected} is missing (next stored is ${e.seq})` : `record ${e.seq} is out of place`);
    }
    if (e.hash.length === 0) return bad(e.seq, 'stored value is too short to hold a hash');
    if (!links.next(e.seq, e.bytes, e.hash)) return bad(e.seq, 'hash does not match the record and its predecessor');
    const why = checkRecord?.(e.bytes, e.seq);
    if (why !== undefined) return bad(e.seq, why);
    const cps = byseq.get(e.seq);
    if (cps) {
      const hex = links.hex();
      const off = cps.find((c) => c.hash !== hex);
      if (off) return bad(e.seq, `chain differs from the checkpoint at seq ${e.seq}${off.source ? ` (${off.source})` : ''}`);
    }
    expected += 1;
  }
  const last = expected - 1;
  if (head.seq > last) return bad(last + 1, `truncated: the head is at seq ${head.seq}, the log ends at ${last}`);
  if (head.seq < last) return bad(head.seq + 1, `records past the head (seq ${head.seq})`);
  if (!links.holds(head.hash)) return bad(last, 'the head hash does not match the log');
  const beyond = trusted.filter((c) => c.seq > last).sort((a, b) => b.seq - a.seq)[0];
  if (beyond) return bad(last + 1, `truncated: a checkpoint covers seq ${beyond.seq}${beyond.source ? ` (${beyond.source})` : ''}, the log ends at ${last}`);
  return { ok: true, checked: last, ...base };
}
