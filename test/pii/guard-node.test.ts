import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import type { AuditApi } from '../../actors/audit/index.js';
import type { InspectionEvent } from '../../actors/kernel/index.js';
import { PII_MODULE, type PiiGuard } from '../../actors/pii/index.js';
import { silent, tempDir } from '../helpers.js';

let node: RunningNode;
let guard: PiiGuard;
let cleanup: () => void;
const events: InspectionEvent[] = [];
const TEXT = 'reach me at ada@example.org';

beforeAll(async () => {
  const t = tempDir('troupe-pii-');
  cleanup = t.cleanup;
  node = await startNode({
    id: 'pii', logger: silent, http: false, dataDir: t.dir, model: { provider: 'offline' },
    pii: {
      default: 'WARN',
      external: 'BLOCK',
      agents: { clerk: 'REDACT', lenient: 'ALLOW' },
      pairs: [{ from: 'hr', to: 'payroll', policy: 'ALLOW' }, { from: 'hr', to: '*', policy: 'BLOCK' }, { from: '*', to: 'vault', policy: { action: 'REDACT', kinds: ['email'] } }],
    },
    agents: [
      { name: 'hr' },
      { name: 'clerk', pii: { policy: 'BLOCK', to: { archive: 'ALLOW' } } },
      { name: 'lenient' },
    ],
  });
  node.inspect((e) => events.push(e));
  guard = node.module<PiiGuard>(PII_MODULE);
});

afterAll(async () => {
  await node?.close();
  cleanup?.();
});

describe('the pii module on a node', () => {
  it('resolves the most specific policy: pair, agent spec receiver, agent spec, node agent, external, default', () => {
    const of = (from: string, to: string, external = false) => {
      const r = guard.policyFor(from, to, external);
      return `${r.policy.action}:${r.source}`;
    };
    expect(of('hr', 'payroll')).toBe('ALLOW:pair');
    expect(of('hr', 'anyone')).toBe('BLOCK:pair');
    expect(of('someone', 'vault')).toBe('REDACT:pair');
    expect(of('clerk', 'archive')).toBe('ALLOW:agent-to');
    expect(of('clerk', 'other')).toBe('BLOCK:agent');
    expect(of('lenient', 'other')).toBe('ALLOW:node-agent');
    expect(of('nobody', 'other', true)).toBe('BLOCK:external');
    expect(of('nobody', 'other')).toBe('WARN:default');
  });

  it('records every decision in the audit chain, with kinds and counts and never the text; the chain verifies', async () => {
    await expect(guard.share(TEXT, { from: 'hr', to: 'anyone', channel: 'a2a.context_share', correlationId: 'c-1' })).rejects.toMatchObject({ code: 'TROUPE_ERR_PII_BLOCKED', status: 422 });
    expect((await guard.share(TEXT, { from: 'someone', to: 'vault', channel: 'a2a.context_share' })).text).toBe('reach me at [REDACTED:email]');
    expect((await guard.share(TEXT, { from: 'nobody', to: 'other', channel: 'a2a.context_share' })).decision).toBe('WARN');
    expect((await guard.share(TEXT, { from: 'lenient', to: 'other', channel: 'a2a.context_share' })).decision).toBe('ALLOW');
    const audit = node.module<AuditApi>('audit');
    const records = audit.query({ action: 'PII_DECISION' }).records;
    expect(records.map((r) => [r.actor, r.target, r.outcome, r.details?.['decision']])).toEqual([
      ['hr', 'anyone', 'refused', 'BLOCK'],
      ['someone', 'vault', 'ok', 'REDACT'],
      ['nobody', 'other', 'ok', 'WARN'],
      ['lenient', 'other', 'ok', 'ALLOW'],
    ]);
    expect(records[0]).toMatchObject({ correlation_id: 'c-1', details: { kinds: 'email', findings: 1, channel: 'a2a.context_share', source: 'pair' } });
    expect(JSON.stringify(records)).not.toContain('ada@example.org');
    expect(audit.verify().ok).toBe(true);
    expect(events.filter((e) => e.type === 'pii.decision').map((e) => (e as { decision: string }).decision)).toEqual(['BLOCK', 'REDACT', 'WARN', 'ALLOW']);
    expect(events.find((e) => e.type === 'pii.decision')).toMatchObject({ from: 'hr', to: 'anyone', kinds: { email: 1 }, findings: 1, policy: 'BLOCK:pair' });
  });

  it('guards a structured context (CONTEXT_SHARE data) with one decision', async () => {
    const before = node.module<AuditApi>('audit').query({ action: 'PII_DECISION' }).records.length;
    const out = await guard.shareValue({ to: 'ada@example.org', body: ['ip 10.0.0.1'] }, { from: 'someone', to: 'vault', channel: 'a2a.context_share' });
    // the vault pair redacts emails only
    expect(out).toMatchObject({ decision: 'REDACT', value: { to: '[REDACTED:email]', body: ['ip 10.0.0.1'] } });
    await expect(guard.shareValue({ k: 'ada@example.org' }, { from: 'hr', to: 'x', channel: 'a2a.context_share' })).rejects.toMatchObject({ code: 'TROUPE_ERR_PII_BLOCKED' });
    expect(node.module<AuditApi>('audit').query({ action: 'PII_DECISION' }).records.length).toBe(before + 2);
  });

  it('counts decisions and findings in /metrics series', async () => {
    const text = await node.moduleMetrics();
    expect(text).toMatch(/troupe_pii_decisions_total\{decision="BLOCK",channel="a2a.context_share"\} 2/);
    expect(text).toMatch(/troupe_pii_findings_total\{kind="email"\} 5/);
  });

  it('refuses an agent spec with a malformed pii policy, naming the field', () => {
    expect(() => node.spawnAgent({ name: 'bad', pii: { policy: 'SHRED' as never } })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_AGENT_INVALID_SPEC' }));
  });

  it('refuses malformed node options with TROUPE_ERR_CONFIG_INVALID', async () => {
    await expect(startNode({ logger: silent, http: false, pii: { default: 'MAYBE' as never } })).rejects.toMatchObject({ code: 'TROUPE_ERR_CONFIG_INVALID' });
  });
});
