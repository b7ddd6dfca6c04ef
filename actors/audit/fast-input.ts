import type { z } from 'zod';
import type { auditRecordInputSchema } from './record.js';

type Input = z.output<typeof auditRecordInputSchema>;

const ACTION = /^[A-Z][A-Z0-9_]{0,63}$/;
const DETAIL_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const KEYS = new Set<string>(['action', 'actor', 'target', 'agent', 'responsible', 'accountable', 'primaryPlaneId', 'correlationId', 'consulted', 'informed', 'outcome', 'payload', 'details']);
const OUTCOMES = new Set(['ok', 'error', 'refused', 'cancelled']);
/** Most actions and detail keys remembered as valid (a regex test each otherwise). */
const SEEN_MAX = 1_024;
const seenActions = new Set<string>();
const seenDetailKeys = new Set<string>();

/** `re.test(s)`, remembered for up to SEEN_MAX strings that passed. */
function passes(re: RegExp, seen: Set<string>, s: string): boolean {
  if (seen.has(s)) return true;
  if (!re.test(s)) return false;
  if (seen.size < SEEN_MAX) seen.add(s);
  return true;
}

const isName = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 200;
const optName = (v: unknown): boolean => v === undefined || isName(v);
const optList = (a: unknown): boolean => a === undefined || (Array.isArray(a) && a.length <= 16 && a.every(isName));
const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
};

/**
 * The audit input check without zod, for the append path (a zod parse per record was the
 * largest cost of an append): accepts exactly what `auditRecordInputSchema` accepts in the
 * common case and answers undefined for anything else, which then goes through zod (which
 * accepts it or names the error). A property test holds the two together.
 */
export function fastRecordInput(v: unknown): Input | undefined {
  if (!isPlain(v)) return undefined;
  for (const k in v) if (!KEYS.has(k)) return undefined;
  if (typeof v['action'] !== 'string' || !passes(ACTION, seenActions, v['action'])) return undefined;
  // named reads, not a loop of keyed ones (which cost a generic lookup each)
  if (!isName(v['actor']) || !optName(v['target']) || !optName(v['agent']) || !optName(v['responsible']) || !optName(v['accountable'])
    || !optName(v['primaryPlaneId']) || !optName(v['correlationId'])) return undefined;
  if (!optList(v['consulted']) || !optList(v['informed'])) return undefined;
  if (v['outcome'] !== undefined && !OUTCOMES.has(v['outcome'] as string)) return undefined;
  const d = v['details'];
  if (d !== undefined) {
    if (!isPlain(d)) return undefined;
    let n = 0;
    for (const k in d) {
      if (++n > 16 || !passes(DETAIL_KEY, seenDetailKeys, k)) return undefined;
      const x = d[k];
      if (!(x === null || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)) || (typeof x === 'string' && x.length <= 500))) return undefined;
    }
  }
  return v as Input;
}
