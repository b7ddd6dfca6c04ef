import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, AuditSigningKey, agentsModule, auditModule, auditOptionsSchema, gatewayModule, startNode, type AuditApi, type RunningNode } from '../../index.js';
import { MemoryAuditChain } from '../../storage/index.js';
import { ManualClock } from '../../protocol/index.js';
import { silent, tempDir, until } from '../helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir('troupe-audit-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function node(dataDir: string | undefined, clock = new ManualClock(5_000), http = false): Promise<RunningNode> {
  const n = await startNode({
    id: 'au', logger: silent, clock, http: http ? { port: 0 } : false, ...(dataDir ? { dataDir } : {}),
    modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } }), auditModule({ checkpointEvery: 4, checkpointIntervalMs: 10_000 })],
  });
  cleanups.push(() => n.close());
  return n;
}

describe('audit log', () => {
  it('batches concurrent records into few commits, each resolved only once committed, in seq order', async () => {
    for (const [inFlight, expected] of [[1, 4], [2, 4]] as const) {
      const chain = new MemoryAuditChain();
      let commits = 0;
      const append = chain.append.bind(chain);
      chain.append = async (r) => { commits++; return append(r); };
      const key = AuditSigningKey.load(undefined);
      const log = new AuditLog({ id: 'm', logger: silent, clock: new ManualClock(1) }, chain, key, auditOptionsSchema.parse({ batchMaxRecords: 100, checkpointEvery: 1_000_000, commitsInFlight: inFlight }));
      const recs = await Promise.all(Array.from({ length: 250 }, (_, i) => log.record({ action: 'TASK_SUBMIT', actor: 'aoa', target: `t${i}` })));
      expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
      expect(recs.map((r) => r.target)).toEqual(Array.from({ length: 250 }, (_, i) => `t${i}`));
      // an idle log writes at once: the first record goes alone, the waiting ones in batches of at most 100
      // (with two appends in flight, shared out evenly while each half is at least 64 records: 1, 100, 75, 74)
      expect(commits).toBe(expected);
      expect(log.verify()).toMatchObject({ ok: true, checked: 250 });
    }
  });

  it('keeps the payload digest, not the payload, and fills RACI defaults by action family', async () => {
    const n = await node(undefined);
    const audit = n.module<AuditApi>('audit');
    const r = await audit.record({ action: 'ROUTE_ACTION', actor: 'fabric', payload: { email: 'a@b.c' }, primaryPlaneId: 'ipaas-1', correlationId: 'c1' });
    expect(r).toMatchObject({ seq: 1, ts: 5_000, node: 'au', primary_plane_id: 'ipaas-1', correlation_id: 'c1', raci: { responsible: 'ActionRouter', accountable: 'Security', consulted: ['Compliance'], informed: ['Audit Log'] } });
    expect(r.payload_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(audit.query().records)).not.toContain('a@b.c');
    await expect(audit.record({ action: 'lower', actor: 'x' })).rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_RECORD_INVALID' });
    const long = 'n'.repeat(200);
    const huge = {
      action: 'X', actor: long, target: long, agent: long, responsible: long, accountable: long, primaryPlaneId: long, correlationId: long,
      details: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${i}`.padStart(64, 'k'), 'v'.repeat(500)])),
      consulted: Array.from({ length: 16 }, () => long), informed: Array.from({ length: 16 }, () => long),
    };
    await expect(audit.record(huge))
      .rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_RECORD_INVALID' });
  });

  it('refuses records past maxPending with TROUPE_ERR_AUDIT_FULL', async () => {
    const log = new AuditLog({ id: 'm', logger: silent, clock: new ManualClock(1) }, new MemoryAuditChain(), AuditSigningKey.load(undefined), auditOptionsSchema.parse({ maxPending: 2, commitsInFlight: 1 }));
    const ok = [log.record({ action: 'A', actor: 'x' }), log.record({ action: 'A', actor: 'x' }), log.record({ action: 'A', actor: 'x' })];
    await expect(log.record({ action: 'A', actor: 'x' })).rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_FULL' });
    await Promise.all(ok);
  });

  it('continues the chain after a restart with the same signing key, and signs checkpoints every N records and on a timer', async () => {
    const d = dir();
    const clock = new ManualClock(5_000);
    const a = await node(d, clock);
    const audit = a.module<AuditApi>('audit');
    for (let i = 0; i < 5; i++) await audit.record({ action: 'JOB_FIRE', actor: 'scheduler', target: `j${i}` });
    await until(() => audit.checkpoints().length === 1, 5_000, 'the checkpoint at seq 4');
    expect(audit.checkpoints().map((c) => c.seq)).toEqual([4]);
    clock.advance(10_000);
    await until(() => audit.checkpoints().length === 2, 5_000, 'the timer checkpoint');
    expect(audit.checkpoints().map((c) => c.seq)).toEqual([4, 5]);
    const pub = audit.publicKey;
    await a.close();

    const b = await node(d, clock);
    const again = b.module<AuditApi>('audit');
    expect(again.publicKey).toBe(pub);
    expect(again.head().seq).toBe(5);
    const r = await again.record({ action: 'JOB_FIRE', actor: 'scheduler', target: 'j5' });
    expect(r.seq).toBe(6);
    expect(again.verify()).toMatchObject({ ok: true, checked: 6, checkpoints: 2 });
  });

  it('serves GET /api/v1/audit (filters, pages) and /verify, and records agent create and delete before answering', async () => {
    const n = await node(dir(), new ManualClock(5_000), true);
    const url = n.http!.url;
    const created = await fetch(`${url}/api/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'helper' }) });
    expect(created.status).toBe(201);
    let page = await (await fetch(`${url}/api/v1/audit?action=AGENT_CREATE`)).json() as { records: Array<Record<string, unknown>>; next?: number };
    expect(page.records).toHaveLength(1);
    expect(page.records[0]).toMatchObject({ seq: 1, action: 'AGENT_CREATE', agent: 'helper', actor: 'agents', node: 'au' });
    expect(page.records[0]!['payload_digest']).toMatch(/^sha256:/);
    expect((await fetch(`${url}/api/v1/agents/helper`, { method: 'DELETE' })).status).toBeLessThan(300);
    page = await (await fetch(`${url}/api/v1/audit?agent=helper`)).json() as typeof page;
    expect(page.records.map((r) => r['action'])).toEqual(['AGENT_CREATE', 'AGENT_DELETE']);

    const audit = n.module<AuditApi>('audit');
    for (let i = 0; i < 5; i++) await audit.record({ action: 'TASK_FINISH', actor: 'aoa', correlationId: i % 2 ? 'odd' : 'even' });
    page = await (await fetch(`${url}/api/v1/audit?correlation_id=even&limit=2`)).json() as typeof page;
    expect(page.records.map((r) => r['seq'])).toEqual([3, 5]);
    expect(page.next).toBe(5);
    page = await (await fetch(`${url}/api/v1/audit?correlation_id=even&limit=2&after=5`)).json() as typeof page;
    expect(page.records.map((r) => r['seq'])).toEqual([7]);
    expect(page.next).toBeUndefined();
    page = await (await fetch(`${url}/api/v1/audit?from=1970-01-01T00:00:06Z`)).json() as typeof page;
    expect(page.records).toEqual([]);

    const bad = await fetch(`${url}/api/v1/audit?limit=0`);
    expect(bad.status).toBe(400);
    expect((await bad.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_GATEWAY_BAD_REQUEST');
    const unknown = await fetch(`${url}/api/v1/audit?secret=1`);
    expect(unknown.status).toBe(400);

    const v = await (await fetch(`${url}/api/v1/audit/verify`)).json();
    expect(v).toMatchObject({ ok: true, checked: 7, head_seq: 7 });
  });
});

describe('audit record encoding', () => {
  it('stores the canonical JSON of every record (sorted keys at every level), whatever the input order', async () => {
    const { default: fc } = await import('fast-check');
    const { auditRecordInputSchema, canonicalJson, encodeRecord, toRecord } = await import('../../index.js');
    const name = fc.string({ minLength: 1, maxLength: 20 });
    fc.assert(fc.property(
      fc.record({
        action: fc.constantFrom('TASK_SUBMIT', 'ROUTE_ACTION', 'PII_DECISION', 'X_1'),
        actor: name,
        target: fc.option(name, { nil: undefined }),
        agent: fc.option(name, { nil: undefined }),
        consulted: fc.option(fc.array(name, { maxLength: 3 }), { nil: undefined }),
        correlationId: fc.option(name, { nil: undefined }),
        payload: fc.option(fc.jsonValue(), { nil: undefined }),
        details: fc.option(fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,7}$/), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()), { maxKeys: 5 }), { nil: undefined }),
      }, { requiredKeys: ['action', 'actor'] }),
      fc.nat(), fc.nat(),
      (input, seq, ts) => {
        const r = toRecord(auditRecordInputSchema.parse(JSON.parse(JSON.stringify(input))), seq + 1, ts, 'n');
        expect(encodeRecord(r).toString('utf8')).toBe(canonicalJson(r));
      },
    ), { numRuns: 300 });
  });

  it('a deep verify also catches a record that does not carry its own seq, even with a good hash', async () => {
    const chain = new MemoryAuditChain();
    const log = new AuditLog({ id: 'm', logger: silent, clock: new ManualClock(1) }, chain, AuditSigningKey.load(undefined), auditOptionsSchema.parse({}));
    await log.record({ action: 'A', actor: 'x' });
    await chain.append([Buffer.from(JSON.stringify({ action: 'A', actor: 'x', node: 'm', raci: { accountable: 'a', consulted: [], informed: [], responsible: 'r' }, seq: 7, ts: 1, v: 1 }))]);
    expect(log.verify()).toMatchObject({ ok: true, checked: 2 });
    expect(log.verify([], { deep: true })).toMatchObject({ ok: false, first_bad_seq: 2 });
  });
});
