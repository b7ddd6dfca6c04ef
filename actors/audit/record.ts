import { hash } from 'node:crypto';
import { z } from 'zod';

/** An action name: UPPER_SNAKE, as the seed's RACI_AUDIT lines (`TASK_SUBMIT`, `ROUTE_ACTION`). */
export const AUDIT_ACTION_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

const name = z.string().min(1).max(200);
const scalar = z.union([z.string().max(500), z.number(), z.boolean(), z.null()]);

/**
 * What a module hands to `audit.record(...)`. `payload` is digested (SHA-256 of its canonical
 * JSON) and dropped: the log keeps the digest, never the payload, so no PII is copied into
 * it. `details` are a few scalar identifiers (task type, status), not content.
 */
export const auditRecordInputSchema = z.strictObject({
  action: z.string().regex(AUDIT_ACTION_RE, 'an action is UPPER_SNAKE, 1-64 characters'),
  /** Who did it (a module, an agent, an API key's owner). */
  actor: name,
  target: name.optional(),
  agent: name.optional(),
  responsible: name.optional(),
  accountable: name.optional(),
  consulted: z.array(name).max(16).optional(),
  informed: z.array(name).max(16).optional(),
  primaryPlaneId: name.optional(),
  correlationId: name.optional(),
  outcome: z.enum(['ok', 'error', 'refused', 'cancelled']).optional(),
  payload: z.unknown().optional(),
  // identifiers (never integer-like: JS would enumerate those first and break the sorted encoding)
  details: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/), scalar).refine((d) => Object.keys(d).length <= 16, 'at most 16 details').optional(),
});
export type AuditRecordInput = z.input<typeof auditRecordInputSchema>;

/** A record as stored (canonical JSON bytes) and served by `GET /api/v1/audit`. */
export const auditRecordSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().positive(),
  /** Epoch ms on the node's clock. */
  ts: z.number().int().min(0),
  node: z.string(),
  action: z.string(),
  actor: z.string(),
  target: z.string().optional(),
  agent: z.string().optional(),
  raci: z.object({
    responsible: z.string(),
    accountable: z.string(),
    consulted: z.array(z.string()),
    informed: z.array(z.string()),
  }),
  primary_plane_id: z.string().optional(),
  correlation_id: z.string().optional(),
  outcome: z.string().optional(),
  payload_digest: z.string().optional(),
  details: z.record(z.string(), scalar).optional(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** A RACI frozen with its lists: one object that every record of its family shares. */
function frozen(r: AuditRecord['raci']): AuditRecord['raci'] {
  Object.freeze(r.consulted);
  Object.freeze(r.informed);
  return Object.freeze(r);
}

/**
 * RACI defaults by action family (seed 000 §5.1), used where a caller names none. Frozen:
 * the records of a family share their family's object (no copy per record); keys in
 * sorted order, as in every record (so `JSON.stringify` of a record is its canonical JSON).
 */
const RACI: ReadonlyArray<[RegExp, AuditRecord['raci']]> = [
  [/^TASK_/, frozen({ accountable: 'Platform', consulted: ['Agents'], informed: ['Audit Log'], responsible: 'AOA Runtime' })],
  [/^(JOB_|SCHEDULE_)/, frozen({ accountable: 'Platform', consulted: ['Users'], informed: ['Telemetry'], responsible: 'AOA Scheduler' })],
  [/^(FABRIC_|ROUTE_ACTION|EXECUTE_ACTION)/, frozen({ accountable: 'Security', consulted: ['Compliance'], informed: ['Audit Log'], responsible: 'ActionRouter' })],
  [/^PII_/, frozen({ accountable: 'Compliance', consulted: ['Legal'], informed: ['Audit Log'], responsible: 'Security' })],
  [/^(A2A_|CONTEXT_)/, frozen({ accountable: 'AOA', consulted: ['Agents'], informed: ['Telemetry'], responsible: 'A2A Protocol' })],
];
const DEFAULT_RACI: AuditRecord['raci'] = frozen({ accountable: 'Platform', consulted: [], informed: ['Audit Log'], responsible: 'Platform' });

/** Most actions whose family default is remembered (the family is found by regexes otherwise). */
const RACI_CACHE_MAX = 1_024;
const raciCache = new Map<string, AuditRecord['raci']>();

/** The RACI defaults of an action's family (frozen, shared). */
export function raciBase(action: string): AuditRecord['raci'] {
  let base = raciCache.get(action);
  if (base === undefined) {
    base = RACI.find(([re]) => re.test(action))?.[1] ?? DEFAULT_RACI;
    if (raciCache.size < RACI_CACHE_MAX) raciCache.set(action, base);
  }
  return base;
}

/** The RACI a record gets: the caller's fields over the family's defaults. */
export function raciFor(input: z.output<typeof auditRecordInputSchema>): AuditRecord['raci'] {
  const base = raciBase(input.action);
  return {
    responsible: input.responsible ?? base.responsible,
    accountable: input.accountable ?? base.accountable,
    consulted: input.consulted ?? base.consulted,
    informed: input.informed ?? base.informed,
  };
}

/**
 * True when `JSON.stringify(o)` is already canonical: keys in sorted order and every member
 * a string, number, boolean, null or undefined (the common small payload, `{ id, n }`).
 * Walked with for-in (no array of keys): an inherited enumerable key only adds to what is
 * checked, and the own keys, in order and flat, are what `JSON.stringify` writes.
 */
function flatInOrder(o: Record<string, unknown>): boolean {
  let prev: string | undefined;
  for (const k in o) {
    if (prev !== undefined && !(prev < k)) return false;
    prev = k;
    const v = o[k];
    const t = typeof v;
    if (!(t === 'string' || t === 'number' || t === 'boolean' || v === null || v === undefined)) return false;
  }
  return true;
}

/**
 * JSON with object keys sorted and `undefined` members left out: one byte string per value,
 * so that a digest or a stored record never depends on key order.
 *
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return JSON.stringify(value.toString());
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      s += (i === 0 ? '' : ',') + (v === undefined ? 'null' : canonicalJson(v));
    }
    return `${s}]`;
  }
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  const o = value as Record<string, unknown>;
  if (flatInOrder(o)) return JSON.stringify(o);
  const keys = Object.keys(o);
  if (keys.length > 1) keys.sort();
  let s = '{';
  for (const k of keys) {
    const v = o[k];
    if (v === undefined) continue;
    s += `${s.length === 1 ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${s}}`;
}

/** `sha256:<hex>` of a payload's canonical JSON. */
export function payloadDigest(payload: unknown): string {
  return `sha256:${hash('sha256', canonicalJson(payload), 'hex')}`;
}

/** The stored bytes of a record made by `toRecord`: its canonical JSON. */
export function encodeRecord(r: AuditRecord): Buffer {
  return Buffer.from(JSON.stringify(r), 'utf8');
}

/**
 * The stored bytes of a record from its JSON made by `toRecord` with seq 0 and ts 0,
 * with `seq` and `ts` put in: the same bytes as {@link encodeRecord} of the record with them,
 * without serializing it again. Only top-level members can match the patterns last: after
 * `seq` come `target` (a string, where an unescaped `"` cannot occur), `ts` and `v`.
 *
 * @example encodeDraft(JSON.stringify(toRecord(input, 0, 0, 'n1')), 7, 1_700_000_000_000)
 */
export function encodeDraft(json: string, seq: number, ts: number): Buffer {
  const i = json.lastIndexOf('"seq":0,');
  const j = json.lastIndexOf('"ts":0,');
  if (i < 0 || j < i) return Buffer.from(json.replace(/"seq":0,/, `"seq":${seq},`).replace(/"ts":0,/, `"ts":${ts},`), 'utf8');
  return Buffer.from(`${json.slice(0, i + 6)}${seq}${json.slice(i + 7, j + 5)}${ts}${json.slice(j + 6)}`, 'utf8');
}

/** Parse stored bytes back into a record; undefined when they are not one. */
export function parseRecord(bytes: Buffer): AuditRecord | undefined {
  try {
    const r = auditRecordSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Verification's record check: the bytes are a record and carry their own seq. */
export function checkStoredRecord(bytes: Buffer, seq: number): string | undefined {
  const r = parseRecord(bytes);
  if (!r) return 'stored bytes are not an audit record';
  if (r.seq !== seq) return `record says seq ${r.seq}, stored at ${seq}`;
  return undefined;
}
