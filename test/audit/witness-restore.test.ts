import { afterEach, describe, expect, it } from 'vitest';
import { auditModule, gatewayModule, startNode, type AuditApi, type RunningNode } from '../../index.js';
import { AUDIT_DBS, NodeStore } from '../../storage/index.js';
import { silent, tempDir, until } from '../helpers.js';

const HB = 150;
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function member(id: string, dataDir: string, seeds: string[], http = false): Promise<RunningNode> {
  const n = await startNode({ id, dataDir, logger: silent, http: http ? { port: 0 } : false, cluster: { port: 0, seeds, heartbeatMs: HB }, modules: [gatewayModule(), auditModule({ checkpointEvery: 5 })] });
  cleanups.push(() => n.close());
  return n;
}

describe('peer-witnessed checkpoints', () => {
  it('catch a truncation whose own checkpoints were deleted too, naming the first missing seq', async () => {
    const da = tempDir('troupe-audit-wa-');
    const db = tempDir('troupe-audit-wb-');
    cleanups.push(da.cleanup, db.cleanup);
    const b = await member('wr-b', db.dir, []);
    let a = await member('wr-a', da.dir, [b.peer!.url]);
    await until(() => a.peers().includes('wr-b'), 10_000, 'a and b linked');
    const audit = a.module<AuditApi>('audit');
    for (let i = 0; i < 10; i++) await audit.record({ action: 'PII_DECISION', actor: 'security', target: `m${i}` });
    await until(() => b.module<AuditApi>('audit').witnessed('wr-a').map((c) => c.seq).join() === '5,10', 10_000, 'b witnessing 5 and 10');
    await a.close();

    // the owner of a's disk cuts the log back to 6, makes the head consistent, drops every own checkpoint
    const store = await NodeStore.open({ dir: da.dir });
    const records = store.db(AUDIT_DBS.records, { encoding: 'binary' });
    for (let s = 7; s <= 10; s++) records.removeSync(s);
    store.db(AUDIT_DBS.meta).putSync('head', { seq: 6, hash: (records.get(6) as Buffer).subarray(0, 32).toString('hex') });
    store.db(AUDIT_DBS.checkpoints).clearSync();
    await store.close();

    a = await member('wr-a', da.dir, [b.peer!.url], true);
    await until(() => a.peers().includes('wr-b'), 10_000, 'a back in the cluster');
    // alone, the chain looks intact
    expect(a.module<AuditApi>('audit').verify()).toMatchObject({ ok: true, checked: 6 });
    const v = await (await fetch(`${a.http!.url}/api/v1/audit/verify`)).json();
    expect(v).toMatchObject({ ok: false, first_bad_seq: 7, checked: 6, checkpoints: 2 });
    expect(String((v as { reason: string }).reason)).toContain('truncated');
  });
});
