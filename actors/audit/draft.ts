import type { z } from 'zod';
import { payloadDigest, raciBase, type AuditRecord, type auditRecordInputSchema } from './record.js';

type Input = z.output<typeof auditRecordInputSchema>;

/**
 * A record waiting for its batch, with its canonical JSON in two pieces around the seq and
 * the ts (which its batch sets): stored text = `head + seq + mid + ts + DRAFT_TAIL`.
 */
export interface AuditDraft {
  /** The record, with seq 0 and ts 0 until its batch is written. */
  record: AuditRecord;
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

/**
 * A string member as JSON, its name given twice (`,"agent":"` and `,"agent":`): the name, the
 * string and its closing quote in two concatenations when nothing needs escaping (one
 * string fewer than quoting first), else the name and JSON.stringify.
 */
function member(quoted: string, bare: string, s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return bare + JSON.stringify(s);
  }
  return `${quoted}${s}"`;
}

function strings(a: readonly string[]): string {
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i === 0 ? '' : ',') + str(a[i]!);
  return `${s}]`;
}

function raciJson(r: AuditRecord['raci']): string {
  return `{"accountable":${str(r.accountable)},"consulted":${strings(r.consulted)},"informed":${strings(r.informed)},"responsible":${str(r.responsible)}}`;
}

/** The JSON of each family's RACI defaults (a handful of objects). */
const defaultRaciJson = new WeakMap<AuditRecord['raci'], string>();
let lastNode = '';
let lastNodeJson = '""';

/**
 * A validated input as the record it is stored as (payload replaced by its digest; seq and
 * ts 0 until its batch sets them), and that record's canonical JSON, both made in one pass:
 * members in key order (so `JSON.stringify` of the record is its canonical JSON too),
 * strings quoted by one scan, the family's RACI JSON and the node's made once. A property
 * test holds the JSON to `canonicalJson` of the record.
 *
 * @example
 * const d = draftRecord(input, 'n1');
 * draftText(d, 7, 1_700_000_000_000) === canonicalJson(toRecord(input, 7, 1_700_000_000_000, 'n1'));
 */
export function draftRecord(input: Input, node: string): AuditDraft {
  const base = raciBase(input.action);
  const own = input.responsible !== undefined || input.accountable !== undefined || input.consulted !== undefined || input.informed !== undefined;
  // the family's frozen defaults are shared; a caller's own RACI is copied (with its lists)
  const raci = own
    ? { accountable: input.accountable ?? base.accountable, consulted: [...(input.consulted ?? base.consulted)], informed: [...(input.informed ?? base.informed)], responsible: input.responsible ?? base.responsible }
    : base;
  let rj = own ? undefined : defaultRaciJson.get(base);
  if (rj === undefined) {
    rj = raciJson(raci);
    if (!own) defaultRaciJson.set(base, rj);
  }
  const r: Record<string, unknown> = { action: input.action, actor: input.actor };
  let h = member('{"action":"', '{"action":', input.action) + member(',"actor":"', ',"actor":', input.actor);
  if (input.agent !== undefined) {
    r['agent'] = input.agent;
    h += member(',"agent":"', ',"agent":', input.agent);
  }
  if (input.correlationId !== undefined) {
    r['correlation_id'] = input.correlationId;
    h += member(',"correlation_id":"', ',"correlation_id":', input.correlationId);
  }
  if (input.details !== undefined) {
    // identifier keys: none is integer-like, so the order they are added in is their order
    const keys = Object.keys(input.details);
    if (keys.length > 1) keys.sort();
    const d: Record<string, string | number | boolean | null> = {};
    let dj = '{';
    for (const k of keys) {
      const v = input.details[k]!;
      d[k] = v;
      dj += `${dj.length === 1 ? '' : ','}${str(k)}:${typeof v === 'string' ? str(v) : JSON.stringify(v)}`;
    }
    r['details'] = d;
    h += `,"details":${dj}}`;
  }
  r['node'] = node;
  if (node !== lastNode) {
    lastNode = node;
    lastNodeJson = str(node);
  }
  h += `,"node":${lastNodeJson}`;
  if (input.outcome !== undefined) {
    r['outcome'] = input.outcome;
    h += member(',"outcome":"', ',"outcome":', input.outcome);
  }
  if (input.payload !== undefined) {
    const digest = payloadDigest(input.payload);
    r['payload_digest'] = digest;
    h += `,"payload_digest":"${digest}"`;
  }
  if (input.primaryPlaneId !== undefined) {
    r['primary_plane_id'] = input.primaryPlaneId;
    h += member(',"primary_plane_id":"', ',"primary_plane_id":', input.primaryPlaneId);
  }
  r['raci'] = raci;
  r['seq'] = 0;
  h += `,"raci":${rj},"seq":`;
  let mid = ',"ts":';
  if (input.target !== undefined) {
    r['target'] = input.target;
    mid = `${member(',"target":"', ',"target":', input.target)},"ts":`;
  }
  r['ts'] = 0;
  r['v'] = 1;
  return { record: r as AuditRecord, head: h, mid };
}

/**
 * A validated input as the record stored at `seq` (payload replaced by its digest). Its keys
 * (and the RACI's and details') are in sorted order, so `JSON.stringify` of it is its
 * canonical JSON.
 */
export function toRecord(input: Input, seq: number, ts: number, node: string): AuditRecord {
  const { record } = draftRecord(input, node);
  record.seq = seq;
  record.ts = ts;
  return record;
}

/** The stored text of a draft once its seq and ts are known. */
export function draftText(d: AuditDraft, seq: number, ts: number): string {
  return `${d.head}${seq}${d.mid}${ts}${DRAFT_TAIL}`;
}
