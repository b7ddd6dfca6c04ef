import type { AuditRecord } from './record.js';

/**
 * A record waiting for its batch, as the two pieces of its canonical JSON around the seq and
 * the ts (which its batch sets): stored text = `head + seq + mid + ts + DRAFT_TAIL`.
 */
export interface AuditDraftJson {
  /** Canonical JSON up to and with `"seq":`. */
  head: string;
  /** From after the seq up to and with `"ts":`. */
  mid: string;
}

/** What follows the ts: `v`, the last member in key order. */
export const DRAFT_TAIL = ',"v":1}';

/**
 * A string as JSON: quoted as it is when nothing in it needs escaping (the common case,
 * found by one scan), else by JSON.stringify (which escapes exactly `"`, `\\`, controls and
 * lone surrogates).
 */
function str(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function strings(a: readonly string[]): string {
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i === 0 ? '' : ',') + str(a[i]!);
  return `${s}]`;
}

function detailsJson(d: Readonly<Record<string, string | number | boolean | null>>): string {
  let s = '{';
  // toRecord made its keys in sorted order
  for (const k in d) {
    const v = d[k];
    s += `${s.length === 1 ? '' : ','}${str(k)}:${typeof v === 'string' ? str(v) : JSON.stringify(v)}`;
  }
  return `${s}}`;
}

let lastNode = '';
let lastNodeJson = '""';

/**
 * The canonical JSON of a record made by `toRecord`, written member by member in key order
 * (one `JSON.stringify` of the whole record costs about twice as much),
 * split around its seq and ts. A property test holds it to `canonicalJson` of the record.
 *
 * @example
 * const d = draftJson(toRecord(input, 0, 0, 'n1'));
 * draftText(d, 7, 1_700_000_000_000) === canonicalJson(toRecord(input, 7, 1_700_000_000_000, 'n1'));
 */
export function draftJson(r: AuditRecord): AuditDraftJson {
  let h = `{"action":${str(r.action)},"actor":${str(r.actor)}`;
  if (r.agent !== undefined) h += `,"agent":${str(r.agent)}`;
  if (r.correlation_id !== undefined) h += `,"correlation_id":${str(r.correlation_id)}`;
  if (r.details !== undefined) h += `,"details":${detailsJson(r.details)}`;
  if (r.node !== lastNode) {
    lastNode = r.node;
    lastNodeJson = str(r.node);
  }
  h += `,"node":${lastNodeJson}`;
  if (r.outcome !== undefined) h += `,"outcome":${str(r.outcome)}`;
  if (r.payload_digest !== undefined) h += `,"payload_digest":${str(r.payload_digest)}`;
  if (r.primary_plane_id !== undefined) h += `,"primary_plane_id":${str(r.primary_plane_id)}`;
  const x = r.raci;
  h += `,"raci":{"accountable":${str(x.accountable)},"consulted":${strings(x.consulted)},"informed":${strings(x.informed)},"responsible":${str(x.responsible)}},"seq":`;
  return { head: h, mid: r.target === undefined ? ',"ts":' : `,"target":${str(r.target)},"ts":` };
}

/** The stored text of a draft once its seq and ts are known. */
export function draftText(d: AuditDraftJson, seq: number, ts: number): string {
  return `${d.head}${seq}${d.mid}${ts}${DRAFT_TAIL}`;
}
