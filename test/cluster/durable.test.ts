import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { startFixture, type TroupeProcess } from '../process.js';

const HB = 150;
const procs: TroupeProcess[] = [];
const cleanups: Array<() => void> = [];
let a: RunningNode | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  await a?.close();
  cleanups.forEach((c) => c());
});
function dir(): string {
  const t = tempDir('troupe-durable-');
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('durable delivery', () => {
  it('5,000 durable messages through 10+ cut links and a SIGKILLed receiver: each processed exactly once', async () => {
    a = await startNode({ id: 'd-a', dataDir: dir(), logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB } });
    const bData = dir();
    const startB = async (port: number): Promise<TroupeProcess> => {
      const p = await startFixture('cluster-node.mjs', ['d-b', bData, String(port), a!.peer!.url, String(HB)]);
      procs.push(p);
      return p;
    };
    let b = await startB(0);
    const bPort = Number(new URL(b.ready.peer!).port);
    await until(() => a!.clusterInfo().members.some((m) => m.node === 'd-b' && m.status === 'up'), 10_000, 'd-b up');

    const N = 5_000;
    let cuts = 0;
    let restart: Promise<TroupeProcess> | undefined;
    for (let n = 0; n < N; n++) {
      await a.tellDurable('troupe://d-b/user/sink', { type: 'd', n });
      if (n % 400 === 399) {
        cuts += a.cluster!.transport.dropLinks('d-b') > 0 ? 1 : 0;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (n === 2_500) {
        await b.kill();
        restart = startB(bPort);
      }
    }
    b = await restart!;
    // keep cutting while the backlog drains
    while (cuts < 10) {
      await until(() => a!.clusterInfo().members.some((m) => m.node === 'd-b' && m.status === 'up'), 10_000, 'd-b up');
      if (a.cluster!.transport.dropLinks('d-b') > 0) cuts++;
      await new Promise((r) => setTimeout(r, 50));
    }
    let stats: { total: number; distinct: number; dups: number } = { total: 0, distinct: 0, dups: 0 };
    await until(async () => {
      try {
        stats = await a!.ask('troupe://d-b/user/sink', { type: 'stats' }, { timeoutMs: 2_000 });
      } catch {
        return false;
      }
      return stats.total >= N && a!.cluster!.transport.pendingDurable() === 0;
    }, 60_000, 'all durable messages processed');
    expect(cuts).toBeGreaterThanOrEqual(10);
    expect(stats).toEqual({ total: N, distinct: N, dups: 0 });
    expect(a.cluster!.transport.stats().reconnects).toBeGreaterThanOrEqual(10);
    await b.stop();
  }, 120_000);
});
