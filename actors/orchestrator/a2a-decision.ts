import type { Message } from '@a2a-js/sdk';
import { decisionSchema, type Decision } from './session-messages.js';

const APPROVE = /^(approve|approved|yes|ok|accept)\b[\s:,.;-]*([\s\S]*)$/i;
const REJECT = /^(reject|rejected|no|deny|decline)\b[\s:,.;-]*([\s\S]*)$/i;
const MODIFY = /^modify\b[\s:,.;-]*([\s\S]+)$/i;

/**
 * The decision an A2A follow-up message carries, or undefined when it carries none: a data
 * part `{ decision: approve | reject | modify, reason?, input? }` (validated like the body of
 * `POST /v1/approvals/:id`), else text: `approve [reason]`, `reject [reason]`, or
 * `modify <the node's new instruction>` (yes/ok/accept and no/deny/decline also read).
 *
 * @example
 * decisionOf(message); // { decision: 'reject', reason: 'too risky' } for the text "reject: too risky"
 */
export function decisionOf(m: Message): Decision | undefined {
  for (const p of m.parts) {
    if (p.content?.$case !== 'data') continue;
    const r = decisionSchema.safeParse(p.content.value);
    if (r.success) return r.data;
  }
  const text = m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('\n').trim().slice(0, 10_000);
  const clip = (s: string | undefined): string | undefined => {
    const t = s?.trim();
    return t ? t.slice(0, 2_000) : undefined;
  };
  let raw: unknown;
  const mod = MODIFY.exec(text);
  if (mod) raw = { decision: 'modify', input: mod[1]!.trim().slice(0, 8_000) };
  else {
    const ok = APPROVE.exec(text);
    const no = ok ? undefined : REJECT.exec(text);
    const hit = ok ?? no;
    if (hit) {
      const reason = clip(hit[2]);
      raw = { decision: ok ? 'approve' : 'reject', ...(reason ? { reason } : {}) };
    }
  }
  const r = raw === undefined ? undefined : decisionSchema.safeParse(raw);
  return r?.success ? r.data : undefined;
}
