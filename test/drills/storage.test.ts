import { afterEach, describe, expect, it } from 'vitest';
import { DRILLS_MODULE, behaviour, isTroupeError, type DrillsApi, type RunningNode } from '../../index.js';
import { until } from '../helpers.js';
import { cleanup, dataDir, testNode } from '../agent/harness.js';

afterEach(cleanup);

type Msg = { type: 'inc' } | { type: 'get' };

/**
 * A persistent counter that acknowledges an increment only once it is durable, under a
 * supervisor that restarts it as often as it takes (`user/sup/ledger`).
 */
function ledger(n: RunningNode): void {
  n.spawnSpec({
    name: 'sup', behaviour: { receive: () => undefined },
    supervision: { strategy: 'one-for-one', maxRestarts: 100, withinMs: 60_000 },
    children: [{
      name: 'ledger',
      behaviour: behaviour<{ total: number }, Msg, { n: number }>({
        initial: () => ({ total: 0 }),
        persistence: { key: 'drill-ledger', apply: (s, e) => ({ total: s.total + e.n }) },
        receive: async (s, m, ctx) => {
          if (m.type === 'get') return void ctx.reply(s.total);
          await ctx.persist({ n: 1 });
          if (ctx.expectsReply) ctx.reply('acked');
        },
      }),
    }],
  });
}

describe('the storage drill', () => {
  it('LMDB writes fail for the duration: the actor gets coded errors, its supervisor restarts it from disk, and nothing acknowledged is lost', async () => {
    const dir = dataDir();
    let n = await testNode({ dataDir: dir, allowDrills: true });
    ledger(n);
    let acked = 0;
    const inc = async (): Promise<string | undefined> => n.ask('user/sup/ledger', { type: 'inc' }, { timeoutMs: 5_000 }).then(() => { acked++; return undefined; }, (e: unknown) => (isTroupeError(e) ? e.code : 'uncoded'));
    expect(await inc()).toBeUndefined();
    expect(await inc()).toBeUndefined();
    let restarts = 0;
    n.inspect((e) => { if (e.type === 'actor.restarted' && e.address.endsWith('/user/sup/ledger')) restarts++; });
    const api = n.module<DrillsApi>(DRILLS_MODULE);
    const started = api.start({ kind: 'storage', target: 'user/sup/ledger', durationMs: 600, rate: 3, message: { type: 'inc' } });
    await until(() => api.get(started.id)?.injectedAt !== undefined, 5_000, 'the fault');
    // the test's own increment during the fault: refused with a coded error, not acknowledged
    const during = await inc();
    expect(during).toMatch(/^TROUPE_ERR_/);
    const r = await api.finished(started.id);
    expect(r.status).toBe('finished');
    expect(r.restarts).toBe(restarts);
    expect(r.restarts).toBeGreaterThanOrEqual(3); // the drill's three writes, each failed and restarted
    expect(r.detectedAt).toBeGreaterThanOrEqual(r.injectedAt!);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.detectedAt!);
    expect(r.messages).toMatchObject({ sent: 3, delivered: 3, lost: 0 });
    expect(r.verdict).toBe('held');
    expect(await inc()).toBeUndefined();
    expect(await n.ask('user/sup/ledger', { type: 'get' })).toBe(acked);
    // from disk, after a restart of the node: exactly the acknowledged increments
    await n.close();
    n = await testNode({ dataDir: dir, allowDrills: true });
    ledger(n);
    expect(await n.ask('user/sup/ledger', { type: 'get' })).toBe(acked);
    expect(acked).toBe(3);
  });
});
