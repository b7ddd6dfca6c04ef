import { TroupeError, type PiiPolicy } from '../../protocol/index.js';
import { applyPiiPolicy, DEFAULT_MAX_SCAN_CHARS, type PiiFinding, type PiiOutcome } from './detect.js';

/** The deepest nesting and the most strings a structured context may have to be scanned. */
export const MAX_CONTEXT_DEPTH = 32;
export const MAX_CONTEXT_STRINGS = 10_000;

/** A finding in a structured value: where (a JSON path like `$.user.email` or `$.notes[2]`) and what. */
export interface PiiValueFinding extends PiiFinding {
  path: string;
}

/** What a policy made of a structured value (the shared context of CONTEXT_SHARE, say). */
export interface PiiValueOutcome<T> {
  decision: PiiOutcome['decision'];
  /** The value with every string passed through the policy (undefined when BLOCKED). */
  value: T | undefined;
  findings: PiiValueFinding[];
}

const tooLarge = (what: string): TroupeError => new TroupeError('TROUPE_ERR_PII_TEXT_TOO_LARGE', `a structured context over the PII scan limits: ${what}`);

/**
 * {@link applyPiiPolicy} over every string of a JSON-like value, object keys included (a
 * key holding PII is redacted like a value): one decision for the whole value, BLOCK when any string holds PII under a BLOCK
 * policy. Bounded: `MAX_CONTEXT_DEPTH` levels, `MAX_CONTEXT_STRINGS` strings and
 * `maxScanChars` characters in all (TROUPE_ERR_PII_TEXT_TOO_LARGE past them).
 *
 * @example
 * applyPiiPolicyToValue({ note: 'mail ada@example.org', n: 3 }, { action: 'REDACT' }).value; // { note: 'mail [REDACTED:email]', n: 3 }
 */
export function applyPiiPolicyToValue<T>(value: T, policy: PiiPolicy, maxScanChars = DEFAULT_MAX_SCAN_CHARS): PiiValueOutcome<T> {
  if (policy.action === 'ALLOW') return { decision: 'ALLOW', value, findings: [] };
  const findings: PiiValueFinding[] = [];
  let strings = 0;
  let chars = 0;
  /** One string (a value, or an object's key) through the policy: counted, scanned, its findings kept; the redacted text back. */
  const scan = (s: string, path: string): string => {
    if (++strings > MAX_CONTEXT_STRINGS) throw tooLarge(`more than ${MAX_CONTEXT_STRINGS} strings`);
    chars += s.length;
    if (chars > maxScanChars) throw tooLarge(`more than ${maxScanChars} characters`);
    // REDACT here for every action: only REDACT keeps the redacted strings
    const out = applyPiiPolicy(s, { ...policy, action: 'REDACT' }, maxScanChars);
    for (const f of out.findings) findings.push({ ...f, path });
    return out.text;
  };
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_CONTEXT_DEPTH) throw tooLarge(`deeper than ${MAX_CONTEXT_DEPTH} levels`);
    if (typeof v === 'string') {
      const text = scan(v, path);
      return policy.action === 'REDACT' ? text : v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // keys are context too (a map keyed by email): scanned like values; paths name them redacted
        const redacted = scan(k, path);
        let name = policy.action === 'REDACT' ? redacted : k;
        // two keys redacted alike both stay
        for (let n = 2; Object.hasOwn(o, name); n++) name = `${redacted}#${n}`;
        // defined, not assigned: a key named __proto__ stays a key
        Object.defineProperty(o, name, { value: walk(x, `${path}.${redacted}`, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    return v;
  };
  const walked = walk(value, '$', 0) as T;
  if (findings.length === 0) return { decision: 'ALLOW', value, findings };
  if (policy.action === 'BLOCK') return { decision: 'BLOCK', value: undefined, findings };
  return { decision: policy.action, value: policy.action === 'REDACT' ? walked : value, findings };
}
