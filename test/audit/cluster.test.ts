import { afterEach, describe, expect, it } from 'vitest';
import { AuditSigningKey, auditModule, gatewayModule, makeCheckpoint, startNode, type AuditApi, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';

const HB = 150;
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function member(id: string, seeds: string[]): Promise<RunningNode> {
  const t = tempDir('troupe-audit-cluster-');
  cleanups.push(t.cleanup);
  const n = await startNode({
    id, dataDir: t.dir, logger: silent, http: id === 'w-a' ? { port: 0 } : false,
    cluster: { port: 0, seeds, heartbeatMs: HB },
    modules: [gatewayModule(), auditModule({ checkpointEvery: 3 })],
  });
  cleanups.push(() => n.close());
  return n;
}

describe('audit checkpoints across a 3-node cluster', () => {
  it('reach the peers, which keep them, and the origin verifies against them', async () => {
    const a = await member('w-a', []);
    const b = await member('w-b', [a.peer!.url]);
    const c = await member('w-c', [a.peer!.url]);
    await until(() => a.peers().length === 2 && b.peers().length === 2 && c.peers().length === 2, 10_000, 'a full mesh');
    const audit = a.module<AuditApi>('audit');
    for (let i = 0; i < 6; i++) await audit.record({ action: 'FABRIC_EXECUTE', actor: 'fabric', target: `t${i}` });
    await until(() => [b, c].every((n) => n.module<AuditApi>('audit').witnessed('w-a').length === 2), 10_000, 'both checkpoints at both peers');
    for (const n of [b, c]) {
      const held = n.module<AuditApi>('audit').witnessed('w-a');
      expect(held.map((cp) => cp.seq)).toEqual([3, 6]);
      expect(held.every((cp) => cp.publicKey === audit.publicKey)).toBe(true);
      // a peer does not hold its own chain's checkpoints as witnessed ones
      expect(n.module<AuditApi>('audit').witnessed(n.id)).toEqual([]);
    }
    const v = await (await fetch(`${a.http!.url}/api/v1/audit/verify`)).json();
    expect(v).toMatchObject({ ok: true, checked: 6, checkpoints: 6, invalid_checkpoints: 0 });

    // a checkpoint signed with another key, or a second hash for a witnessed seq, is refused
    const forged = { ...audit.checkpoints()[1]!, hash: 'f'.repeat(64) };
    await expect(b.module<AuditApi>('audit').witness(forged)).rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_CHECKPOINT_INVALID' });
    // a node sends only its own chain's checkpoints: one about another origin is refused,
    // even validly signed (c's own, sent after it on the same link, shows it was handled)
    const ghost = makeCheckpoint('x-ghost', { seq: 1, hash: Buffer.alloc(32, 7) }, AuditSigningKey.load(undefined), 1);
    c.tell('troupe://w-b/system/audit', { type: 'audit.checkpoint', checkpoint: ghost }, { sender: c.toRef('troupe://w-c/system/audit') });
    for (let i = 0; i < 3; i++) await c.module<AuditApi>('audit').record({ action: 'A2A_EXECUTE', actor: 'agent-x' });
    await until(() => b.module<AuditApi>('audit').witnessed('w-c').length === 1, 10_000, "c's checkpoint at b");
    expect(b.module<AuditApi>('audit').witnessed('x-ghost')).toEqual([]);

    // an actor on another node records through the audit actor; the reply comes once committed
    const rec = await b.ask<{ seq: number; node: string }>('troupe://w-a/system/audit', { type: 'audit.record', input: { action: 'A2A_DELEGATE', actor: 'agent-on-b' } });
    expect(rec).toMatchObject({ seq: 7, node: 'w-a' });
    expect(audit.head().seq).toBe(7);
    await expect(b.ask('troupe://w-a/system/audit', { type: 'audit.record', input: { action: 'bad', actor: 'x' } })).rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_RECORD_INVALID' });

    // the same checkpoint sent again is kept once
    await expect(b.module<AuditApi>('audit').witness(audit.checkpoints()[0])).resolves.toBeUndefined();
    expect(b.module<AuditApi>('audit').witnessed('w-a')).toHaveLength(2);
  });
});
