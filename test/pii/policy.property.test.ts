import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { PiiGuard, applyPiiPolicy, applyPiiPolicyToValue, luhn, piiOptionsSchema, type PiiAction } from '../../actors/pii/index.js';
import type { InspectionEvent } from '../../actors/kernel/index.js';

/** A card number (Visa or Mastercard prefix) with its Luhn check digit, written plain, spaced or dashed. */
const card = fc.tuple(fc.constantFrom('4', '51', '55'), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }), fc.constantFrom('', ' ', '-'))
  .map(([prefix, body, sep]) => {
    const head = (prefix + body.join('')).slice(0, 15);
    const check = [...'0123456789'].find((d) => luhn(head + d))!;
    const digits = head + check;
    return sep === '' ? digits : digits.match(/.{4}/g)!.join(sep);
  });

const email = fc.tuple(
  fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,12}[a-z0-9]$/),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/),
  fc.constantFrom('com', 'org', 'net', 'io', 'co.uk', 'example'),
).map(([local, domain, tld]) => `${local}@${domain}.${tld}`);

const d = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((a) => a.join(''));
const area = fc.integer({ min: 201, max: 989 }).map(String);
const phone = fc.oneof(
  fc.tuple(area, d(3), d(4)).map(([a, b, c]) => `+1 ${a} ${b} ${c}`),
  fc.tuple(area, d(3), d(4)).map(([a, b, c]) => `(${a}) ${b}-${c}`),
  fc.tuple(area, d(3), d(4)).map(([a, b, c]) => `${a}.${b}.${c}`),
  fc.tuple(d(4), d(4)).map(([a, b]) => `+44 20 ${a} ${b}`),
  fc.tuple(d(2), d(2), d(2), d(2)).map(([a, b, c, e]) => `+33 6 ${a} ${b} ${c} ${e}`),
);

const pii = fc.oneof(card, email, phone);
/** Words and punctuation around the PII (no digits: a digit next to a number changes the number). */
const filler = fc.array(fc.oneof(fc.stringMatching(/^[a-zA-Z]{1,9}$/), fc.constantFrom('the', 'card:', 'call', 'mail', ',', 'and', '-')), { minLength: 1, maxLength: 6 }).map((w) => w.join(' '));
/** A text with 1-6 pieces of PII, each between filler words. */
const text = fc.tuple(filler, fc.array(fc.tuple(pii, filler), { minLength: 1, maxLength: 6 }))
  .map(([head, rest]) => ({ items: rest.map(([p]) => p), text: [head, ...rest.flat()].join(' ') }));

function logSink(): { logger: ReturnType<typeof pino>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function guardFor(action: PiiAction) {
  const { logger, lines } = logSink();
  const events: InspectionEvent[] = [];
  const audits: unknown[] = [];
  const guard = new PiiGuard(piiOptionsSchema.parse({ default: action }), {
    logger, emit: (e) => events.push(e), audit: async (r) => { audits.push(r); }, agentPii: () => undefined,
  });
  return { guard, lines, events, audits };
}

describe('PII policies over generated texts with embedded emails, cards and phone numbers', () => {
  it('REDACT removes every one of them', () => {
    fc.assert(fc.property(text, ({ items, text }) => {
      const out = applyPiiPolicy(text, { action: 'REDACT' });
      expect(out.decision).toBe('REDACT');
      expect(out.findings.length).toBe(items.length);
      for (const item of items) expect(out.text).not.toContain(item);
      expect(out.text).not.toMatch(/@[a-z]/);
    }), { numRuns: 300 });
  });

  it('BLOCK refuses with TROUPE_ERR_PII_BLOCKED, and the refusal is an event, a log line and an audit record', async () => {
    await fc.assert(fc.asyncProperty(text, async ({ items, text }) => {
      const { guard, lines, events, audits } = guardFor('BLOCK');
      await expect(guard.share(text, { from: 'a', to: 'b', channel: 'test' })).rejects.toMatchObject({ code: 'TROUPE_ERR_PII_BLOCKED' });
      expect(events).toEqual([expect.objectContaining({ type: 'pii.decision', decision: 'BLOCK', findings: items.length })]);
      expect(lines.filter((l) => l['decision'] === 'BLOCK')).toHaveLength(1);
      expect(audits).toEqual([expect.objectContaining({ action: 'PII_DECISION', outcome: 'refused' })]);
      // nothing of the text reaches the log or the event
      for (const item of items) expect(JSON.stringify([lines, events, audits])).not.toContain(item);
    }), { numRuns: 100 });
  });

  it('WARN passes the text unchanged and logs a warning', async () => {
    await fc.assert(fc.asyncProperty(text, async ({ items, text }) => {
      const { guard, lines, events } = guardFor('WARN');
      const out = await guard.share(text, { from: 'a', to: 'b', channel: 'test' });
      expect(out).toMatchObject({ decision: 'WARN', text });
      expect(out.findings).toHaveLength(items.length);
      expect(lines.filter((l) => l['level'] === 40 && l['decision'] === 'WARN')).toHaveLength(1);
      expect(events).toEqual([expect.objectContaining({ decision: 'WARN' })]);
    }), { numRuns: 100 });
  });

  it('ALLOW passes the text unchanged and unscanned', async () => {
    await fc.assert(fc.asyncProperty(text, async ({ text }) => {
      const { guard, events, audits } = guardFor('ALLOW');
      const out = await guard.share(text, { from: 'a', to: 'b', channel: 'test' });
      expect(out).toEqual({ decision: 'ALLOW', text, findings: [] });
      expect(events).toEqual([expect.objectContaining({ decision: 'ALLOW', findings: 0 })]);
      expect(audits).toEqual([expect.objectContaining({ outcome: 'ok' })]);
    }), { numRuns: 100 });
  });

  it('REDACT removes every one of them from a structured context too', () => {
    fc.assert(fc.property(text, text, ({ items: a, text: ta }, { items: b, text: tb }) => {
      const out = applyPiiPolicyToValue({ first: ta, rest: [tb, 7] }, { action: 'REDACT' });
      expect(out.findings).toHaveLength(a.length + b.length);
      const json = JSON.stringify(out.value);
      for (const item of [...a, ...b]) expect(json).not.toContain(JSON.stringify(item).slice(1, -1));
    }), { numRuns: 100 });
  });

  it('a text without PII passes every policy', () => {
    fc.assert(fc.property(filler, fc.constantFrom<PiiAction>('BLOCK', 'REDACT', 'WARN', 'ALLOW'), (t, action) => {
      expect(applyPiiPolicy(t, { action })).toEqual({ decision: 'ALLOW', text: t, findings: [] });
    }), { numRuns: 200 });
  });
});
