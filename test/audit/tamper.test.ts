import { afterEach, describe, expect, it } from 'vitest';
import { auditCommand, auditModule, gatewayModule, startNode, type AuditApi, type RunningNode } from '../../index.js';
import { AUDIT_DBS, NodeStore, chainHash, encodeEntry } from '../../storage/index.js';
import { ManualClock } from '../../protocol/index.js';
import { silent, tempDir } from '../helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A stopped node's data dir holding a chain of `n` records with signed checkpoints at `cps`. */
async function chainOnDisk(n: number, cps: number[] = [n]): Promise<string> {
  const t = tempDir('troupe-audit-tamper-');
  cleanups.push(t.cleanup);
  const node = await startNode({ id: 'au', dataDir: t.dir, logger: silent, clock: new ManualClock(1_000), http: false, modules: [gatewayModule(), auditModule({ checkpointEvery: 1_000_000 })] });
  const audit = node.module<AuditApi>('audit');
  for (let i = 1; i <= n; i++) {
    await audit.record({ action: 'TASK_SUBMIT', actor: 'aoa', target: `task-${i}`, payload: { i } });
    if (cps.includes(i)) await audit.checkpoint();
  }
  // close() would sign a last checkpoint at the head: only the ones asked for exist
  (audit as unknown as { checkpoint: () => Promise<undefined> }).checkpoint = async () => undefined;
  await node.close();
  return t.dir;
}

/** Open the stopped node's LMDB file and edit its audit databases directly. */
async function tamper(dir: string, edit: (dbs: { records: any; meta: any; cps: any }) => void): Promise<void> {
  const store = await NodeStore.open({ dir });
  const dbs = { records: store.db(AUDIT_DBS.records, { encoding: 'binary' }), meta: store.db(AUDIT_DBS.meta), cps: store.db(AUDIT_DBS.checkpoints) };
  edit(dbs);
  await store.close();
}

async function verifyCli(dir: string): Promise<{ code: number; report: Record<string, unknown> }> {
  const out: string[] = [];
  const code = await auditCommand.run(['verify', '--data', dir], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
  return { code, report: JSON.parse(out.join('\n')) as Record<string, unknown> };
}

describe('audit chain on a real LMDB file', () => {
  it('an untouched chain verifies', async () => {
    const dir = await chainOnDisk(10, [4, 10]);
    const { code, report } = await verifyCli(dir);
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, checked: 10, head_seq: 10, checkpoints: 2, invalid_checkpoints: 0, node: 'au' });
  });

  it('an edited record is named by its seq', async () => {
    const dir = await chainOnDisk(10);
    await tamper(dir, ({ records }) => {
      const v = Buffer.from(records.get(5) as Buffer);
      const at = v.indexOf('task-5');
      v.write('task-X', at);
      records.putSync(5, v);
    });
    const { code, report } = await verifyCli(dir);
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, first_bad_seq: 5, checked: 4 });
  });

  it('an edit with its own hash recomputed breaks the next link; rewriting the rest is caught at the next checkpoint', async () => {
    const dir = await chainOnDisk(10, [3, 7, 10]);
    await tamper(dir, ({ records }) => {
      const v = Buffer.from(records.get(5) as Buffer);
      const bytes = Buffer.from(v.subarray(32).toString().replace('task-5', 'task-X'));
      const prev = (records.get(4) as Buffer).subarray(0, 32);
      records.putSync(5, encodeEntry(chainHash(prev, 5, bytes), bytes));
    });
    expect((await verifyCli(dir)).report).toMatchObject({ ok: false, first_bad_seq: 6 });
    // the attacker rewrites every later link and the head too: only a checkpoint tells
    await tamper(dir, ({ records, meta }) => {
      let prev = (records.get(5) as Buffer).subarray(0, 32);
      for (let s = 6; s <= 10; s++) {
        const bytes = Buffer.from((records.get(s) as Buffer).subarray(32));
        const h = chainHash(prev, s, bytes);
        records.putSync(s, encodeEntry(h, bytes));
        prev = h;
      }
      meta.putSync('head', { seq: 10, hash: prev.toString('hex') });
    });
    const { report } = await verifyCli(dir);
    expect(report).toMatchObject({ ok: false, first_bad_seq: 7 });
    expect(String(report['reason'])).toContain('checkpoint');
  });

  it('a deleted record is named by its seq', async () => {
    const dir = await chainOnDisk(10);
    await tamper(dir, ({ records }) => records.removeSync(5));
    expect((await verifyCli(dir)).report).toMatchObject({ ok: false, first_bad_seq: 5, checked: 4 });
  });

  it('two records swapped are caught at the first of them', async () => {
    const dir = await chainOnDisk(10);
    await tamper(dir, ({ records }) => {
      const a = Buffer.from(records.get(4) as Buffer);
      const b = Buffer.from(records.get(5) as Buffer);
      records.putSync(4, b);
      records.putSync(5, a);
    });
    expect((await verifyCli(dir)).report).toMatchObject({ ok: false, first_bad_seq: 4, checked: 3 });
  });

  it('a record inserted in the middle is named by its seq', async () => {
    const dir = await chainOnDisk(10);
    await tamper(dir, ({ records, meta }) => {
      for (let s = 10; s >= 5; s--) records.putSync(s + 1, Buffer.from(records.get(s) as Buffer));
      const forged = Buffer.from(JSON.stringify({ action: 'TASK_SUBMIT', actor: 'mallory', node: 'au', raci: { accountable: 'x', consulted: [], informed: [], responsible: 'x' }, seq: 5, ts: 1000, v: 1 }));
      records.putSync(5, encodeEntry(chainHash((records.get(4) as Buffer).subarray(0, 32), 5, forged), forged));
      meta.putSync('head', { seq: 11, hash: (records.get(11) as Buffer).subarray(0, 32).toString('hex') });
    });
    const { report } = await verifyCli(dir);
    expect(report).toMatchObject({ ok: false, first_bad_seq: 6 });
  });

  it('a truncation with a consistent head is caught against the checkpoint, naming the first missing seq', async () => {
    const dir = await chainOnDisk(10, [10]);
    await tamper(dir, ({ records, meta }) => {
      for (let s = 8; s <= 10; s++) records.removeSync(s);
      meta.putSync('head', { seq: 7, hash: (records.get(7) as Buffer).subarray(0, 32).toString('hex') });
    });
    const { report } = await verifyCli(dir);
    expect(report).toMatchObject({ ok: false, first_bad_seq: 8, checked: 7 });
    expect(String(report['reason'])).toContain('truncated');
  });

  it('a truncation that leaves the head behind is caught without a checkpoint', async () => {
    const dir = await chainOnDisk(10, []);
    await tamper(dir, ({ records }) => records.removeSync(10));
    expect((await verifyCli(dir)).report).toMatchObject({ ok: false, first_bad_seq: 10 });
  });

  it('a forged checkpoint fails its signature check', async () => {
    const dir = await chainOnDisk(6, [6]);
    await tamper(dir, ({ cps }) => {
      const cp = cps.get(6) as Record<string, unknown>;
      cps.putSync(6, { ...cp, seq: 5, text: String(cp['text']).replace('\n6\n', '\n5\n') });
    });
    const { code, report } = await verifyCli(dir);
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, invalid_checkpoints: 1 });
  });

  it('the CLI refuses a missing --data with a usage error', async () => {
    const err: string[] = [];
    expect(await auditCommand.run(['verify'], { stdout: () => undefined, stderr: (l) => err.push(l) })).toBe(2);
    expect(err.join('')).toContain('TROUPE_ERR_CONFIG_INVALID');
  });
});
