import { TroupeError, type PiiAction, type PiiKind, type PiiPolicy } from '../../protocol/index.js';
import { DETECTORS } from './detectors.js';

/** Where a piece of PII sits in a text. The value itself is never kept: logs and events see kinds and counts. */
export interface PiiFinding {
  kind: PiiKind;
  start: number;
  end: number;
}

/** The largest text scanned (characters); past it a non-ALLOW policy refuses (TROUPE_ERR_PII_TEXT_TOO_LARGE). */
export const DEFAULT_MAX_SCAN_CHARS = 1_000_000;

/**
 * Find the PII in a text: every detector's validated candidates, then the non-overlapping
 * ones, leftmost first and, at the same start, the longest (then the detector's priority).
 *
 * @example
 * detectPii('mail ada@example.org'); // [{ kind: 'email', start: 5, end: 20 }]
 */
export function detectPii(text: string, kinds?: ReadonlyArray<PiiKind>): PiiFinding[] {
  const wanted = kinds ? new Set(kinds) : undefined;
  const candidates: Array<PiiFinding & { priority: number }> = [];
  for (const d of DETECTORS) {
    if (wanted && !wanted.has(d.kind)) continue;
    const re = new RegExp(d.pattern.source, d.pattern.flags);
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (d.valid(m[0])) candidates.push({ kind: d.kind, start: m.index, end: m.index + m[0].length, priority: d.priority });
      // a refused candidate may hide a valid one that starts inside it (a number run before a card)
      else re.lastIndex = m.index + 1;
    }
  }
  candidates.sort((a, b) => a.start - b.start || (b.end - b.start) - (a.end - a.start) || a.priority - b.priority);
  const out: PiiFinding[] = [];
  let covered = 0;
  for (const c of candidates) {
    if (c.start < covered) continue;
    out.push({ kind: c.kind, start: c.start, end: c.end });
    covered = c.end;
  }
  return out;
}

/** What a policy made of a text. `text` is what may go on (empty when BLOCKED). */
export interface PiiOutcome {
  /** The policy's action when it found something (ALLOW scans nothing); ALLOW when the text was clean. */
  decision: PiiAction;
  text: string;
  findings: PiiFinding[];
}

/** The placeholder a REDACT puts where a finding was. */
export const redaction = (kind: PiiKind): string => `[REDACTED:${kind}]`;

/**
 * Apply a policy to a text: BLOCK gives back no text (the caller refuses the share, see
 * PiiGuard), REDACT replaces every finding with `[REDACTED:<kind>]`, WARN and ALLOW pass it
 * unchanged. Pure: the decision's event, log line and audit record are the guard's.
 *
 * @example
 * applyPiiPolicy('call +1 415 555 2671', { action: 'REDACT' }).text; // 'call [REDACTED:phone]'
 */
export function applyPiiPolicy(text: string, policy: PiiPolicy, maxScanChars = DEFAULT_MAX_SCAN_CHARS): PiiOutcome {
  if (policy.action === 'ALLOW') return { decision: 'ALLOW', text, findings: [] };
  if (text.length > maxScanChars) {
    throw new TroupeError('TROUPE_ERR_PII_TEXT_TOO_LARGE', `a text of ${text.length} characters is over the PII scan limit of ${maxScanChars}`, {
      details: { length: text.length, limit: maxScanChars },
    });
  }
  const findings = detectPii(text, policy.kinds);
  if (findings.length === 0) return { decision: 'ALLOW', text, findings };
  switch (policy.action) {
    case 'BLOCK':
      return { decision: 'BLOCK', text: '', findings };
    case 'WARN':
      return { decision: 'WARN', text, findings };
    case 'REDACT': {
      let out = '';
      let at = 0;
      for (const f of findings) {
        out += text.slice(at, f.start) + redaction(f.kind);
        at = f.end;
      }
      return { decision: 'REDACT', text: out + text.slice(at), findings };
    }
  }
}

/** Findings counted by kind, for events, logs and audit details (never values). */
export function countKinds(findings: ReadonlyArray<PiiFinding>): Partial<Record<PiiKind, number>> {
  const out: Partial<Record<PiiKind, number>> = {};
  for (const f of findings) out[f.kind] = (out[f.kind] ?? 0) + 1;
  return out;
}
