import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { A2A_ENDPOINT_PATH, applyPiiPolicyToValue, type A2AApi } from '../../actors/index.js';
import { startNode, type RunningNode } from '../../index.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

describe('hostile: PII in the keys of a structured context', () => {
  it('a BLOCK policy blocks a context whose PII sits in an object key (a map keyed by email)', () => {
    const out = applyPiiPolicyToValue({ contacts: { 'ada.lovelace@example.org': 'vip' } }, { action: 'BLOCK' });
    expect(out.decision).toBe('BLOCK');
    expect(out.value).toBeUndefined();
    expect(out.findings.map((f) => f.kind)).toEqual(['email']);
    // the finding's path never names the PII itself
    expect(JSON.stringify(out.findings)).not.toContain('ada.lovelace');
  });

  it('REDACT redacts keys too, keeps keys that redact alike apart, and loses nothing', () => {
    const out = applyPiiPolicyToValue({ 'ada@example.org': 1, 'bob@example.org': 2, plain: { 'call +1 415 555 2671': 'x' } }, { action: 'REDACT' });
    expect(out.decision).toBe('REDACT');
    const v = out.value as Record<string, unknown>;
    expect(JSON.stringify(v)).not.toMatch(/example\.org|555 2671/);
    expect(Object.values(v).filter((x) => typeof x === 'number').sort()).toEqual([1, 2]);
    expect(v).toEqual({ '[REDACTED:email]': 1, '[REDACTED:email]#2': 2, plain: { 'call [REDACTED:phone]': 'x' } });
  });

  it('a key named __proto__ stays a key of the redacted context (not the object\'s prototype)', () => {
    const raw = JSON.parse('{"__proto__": {"note": "mail ada@example.org"}, "n": 1}') as Record<string, unknown>;
    const out = applyPiiPolicyToValue(raw, { action: 'REDACT' });
    const v = out.value as Record<string, unknown>;
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(v))).toEqual(JSON.parse('{"__proto__": {"note": "mail [REDACTED:email]"}, "n": 1}'));
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('a CONTEXT_SHARE under BLOCK with an email as a key is refused by the node, and nothing is kept', async () => {
    const node = await startNode({
      id: 'hostile-pii', logger: pino({ level: 'silent' }), http: false,
      pii: { default: 'ALLOW', pairs: [{ from: 'hr', to: 'payroll', policy: 'BLOCK' }] },
      agents: [{ name: 'payroll', instructions: 'p' }],
    });
    nodes.push(node);
    const ack = await node.ask(A2A_ENDPOINT_PATH, {
      type: 'a2a.context_share', id: 'k-1', from: 'hr', to: 'payroll', correlationId: 'c-1', callChain: [], createdAt: 1,
      replyTo: 'troupe://hostile-pii/system/a2a-messages', payload: { context: { salaries: { 'ada.lovelace@example.org': 120_000 } } },
    });
    expect(ack).toMatchObject({ accepted: false, error: { code: 'TROUPE_ERR_PII_BLOCKED' } });
    expect(JSON.stringify(ack)).not.toContain('ada.lovelace');
    expect(node.module<A2AApi>('a2a').delegation.inbox.sharedContext('payroll', 'c-1')).toBeUndefined();
  });
});

describe('hostile: sender and receiver names that are Object.prototype members', () => {
  it('a CONTEXT_SHARE from "constructor" gets the node\'s default policy (BLOCK here), not a made-up one that lets PII through', async () => {
    const node = await startNode({
      id: 'hostile-pii-proto', logger: pino({ level: 'silent' }), http: false,
      pii: { default: 'BLOCK' },
      agents: [{ name: 'desk', instructions: 'd' }, { name: 'constructor', instructions: 'c' }],
    });
    nodes.push(node);
    for (const [from, to] of [['constructor', 'desk'], ['toString', 'desk'], ['hasOwnProperty', 'constructor']]) {
      const ack = await node.ask(A2A_ENDPOINT_PATH, {
        type: 'a2a.context_share', id: `p-${from}-${to}`, from, to, correlationId: 'c-1', callChain: [], createdAt: 1,
        replyTo: 'troupe://hostile-pii-proto/system/a2a-messages', payload: { context: { note: 'mail ada.lovelace@example.org' } },
      });
      expect(ack, `${from} -> ${to}`).toMatchObject({ accepted: false, error: { code: 'TROUPE_ERR_PII_BLOCKED' } });
      expect(node.module<A2AApi>('a2a').delegation.inbox.sharedContext(to, 'c-1')).toBeUndefined();
    }
  });
});
