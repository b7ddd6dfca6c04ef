import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { ManualClock } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';
import { drive, driveUntil, settled, tickOf, type Linked } from '../transport/clocked.js';

// Nodes started with `clock`: the kernel, its asks and the cluster transport (heartbeats,
// failure detector, dials) all run on it, so a test moves time instead of waiting for it.
const HB = 150;
const tick = tickOf(HB);
const nodes: RunningNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function node(id: string, clock: ManualClock, seeds: string[] = []): Promise<RunningNode> {
  const n = await startNode({ id, logger: silent, http: false, clock, cluster: { port: 0, seeds, heartbeatMs: HB } });
  nodes.push(n);
  return n;
}
const linked = (...ns: RunningNode[]): Linked[] => ns.map((n) => ({ t: n.cluster!.transport }));
const statusOf = (n: RunningNode, id: string) => n.clusterInfo().members.find((m) => m.node === id)?.status;

describe('a cluster on the injected clock', () => {
  it('a peer that dies without a word is down only once its silence has lasted on the clock; its asks and watches fail then', async () => {
    const clock = new ManualClock(1_000_000);
    const a = await node('c-a', clock);
    const b = await node('c-b', clock, [a.peer!.url]);
    const both = linked(a, b);
    await driveUntil(clock, both, tick, () => statusOf(a, 'c-b') === 'up' && statusOf(b, 'c-a') === 'up' && settled(both), 40 * HB, 'c-a and c-b up');
    b.spawn(() => undefined, { name: 'mute' });
    const downs: string[] = [];
    a.watch('troupe://c-b/user/mute', (s) => downs.push(s.reason));
    await until(() => b.cluster!.stats().servedWatches === 1, 15_000, 'the watch placed on c-b');
    let outcome: { value?: unknown; error?: unknown } | undefined;
    const pending = a.ask('troupe://c-b/user/mute', 'never answered', { timeoutMs: 60_000 });
    pending.then((value) => { outcome = { value }; }, (error: unknown) => { outcome = { error }; });
    await until(() => a.cluster!.stats().pendingAsks === 1, 15_000, 'the ask sent');

    // c-b's transport dies abruptly: no goodbye, indistinguishable from a crash
    await b.cluster!.transport.close({ abrupt: true });
    await until(() => !a.cluster!.transport.links().some((l) => l.node === 'c-b'), 15_000, 'the cut seen by c-a');
    // no clock time has passed: nothing could have judged the silence yet
    expect(statusOf(a, 'c-b')).toBe('up');
    expect(downs).toEqual([]);
    expect(outcome).toBeUndefined();

    // three heartbeat intervals of clock time: down, and everything waiting on c-b fails
    await drive(clock, linked(a), 3 * HB, tick);
    expect(statusOf(a, 'c-b')).toBe('down');
    await expect(pending).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' });
    await until(() => downs.length === 1, 15_000, 'Terminated for node down');
    expect(downs).toEqual(['node-down']);
    // far short of the ask's own timeout
    expect(clock.now() - 1_000_000).toBeLessThan(60_000);
  });
});
