import { afterEach, describe, expect, it } from 'vitest';
import type { TransportEvent } from '../../transport/index.js';
import { until } from '../helpers.js';
import { allUp, closeAll, FAST, sleep, startNode, type TestNode } from './helpers.js';

const hb = FAST.heartbeatMs;

function firstAt(n: TestNode, pred: (e: TransportEvent) => boolean): number | undefined {
  return n.timeline.find((x) => pred(x.e))?.at;
}

describe('failure detection and restarts', () => {
  const nodes: Array<TestNode | undefined> = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('marks a crashed node suspect then down within 3 heartbeat intervals, and up again after it restarts with a new incarnation', async () => {
    const a = await startNode('a');
    const b = await startNode('b', { seeds: [a.url] });
    const c = await startNode('c', { seeds: [a.url] });
    nodes.push(a, b, c);
    await until(() => allUp([a, b, c]), 5_000, 'mesh up');
    const oldIncarnation = c.t.incarnation;
    const port = Number(new URL(c.url).port);

    const killedAt = Date.now();
    await c.t.close({ abrupt: true }); // no goodbye: indistinguishable from a crash
    for (const n of [a, b]) {
      await until(() => n.t.status('c') === 'down', 2_000, `${n.t.nodeId} sees c down`);
      const suspectAt = firstAt(n, (e) => e.type === 'member.suspect' && e.node === 'c')!;
      const downAt = firstAt(n, (e) => e.type === 'member.down' && e.node === 'c')!;
      expect(suspectAt).toBeLessThanOrEqual(downAt);
      // By construction the detector declares down before 3 intervals of silence...
      const down = n.events.find((e) => e.type === 'member.down' && e.node === 'c');
      expect(down).toMatchObject({ type: 'member.down', node: 'c', incarnation: oldIncarnation, reason: 'heartbeat' });
      expect((down as { silentMs: number }).silentMs).toBeLessThan(3 * hb);
      // ...and on the wall clock: the last heartbeat from c arrived at or before the kill
      // (the slack is for timers firing late on a loaded CI machine).
      expect(downAt - killedAt).toBeLessThanOrEqual(3 * hb + hb / 2);
    }
    expect(() => a.t.send('c', { id: 'x', to: 'troupe://c/user/s', type: 't', createdAt: 0, payload: 0 })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }),
    );

    const c2 = await startNode('c', { port, seeds: [a.url] });
    nodes.push(c2);
    expect(c2.t.incarnation).not.toBe(oldIncarnation);
    await until(() => allUp([a, b, c2]), 5_000, 'c up again everywhere');
    for (const n of [a, b]) {
      expect(n.t.members().find((m) => m.node === 'c')).toMatchObject({ status: 'up', incarnation: c2.t.incarnation });
      expect(n.events).toContainEqual(expect.objectContaining({ type: 'member.up', node: 'c', incarnation: c2.t.incarnation }));
    }
  });

  it('treats a restart seen before the failure detector fired as down (old incarnation) then up (new)', async () => {
    const a = await startNode('a', { heartbeatMs: 1_000 });
    const b = await startNode('b', { heartbeatMs: 1_000, seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 5_000, 'a and b up');
    const old = b.t.incarnation;
    const port = Number(new URL(b.url).port);
    await b.t.close({ abrupt: true });
    const b2 = await startNode('b', { heartbeatMs: 1_000, port, seeds: [a.url] });
    nodes.push(b2);
    await until(() => a.t.members().find((m) => m.node === 'b')?.incarnation === b2.t.incarnation, 3_000, 'new incarnation seen');
    expect(a.t.status('b')).toBe('up');
    const downIdx = a.events.findIndex((e) => e.type === 'member.down' && e.node === 'b');
    const upIdx = a.events.findIndex((e) => e.type === 'member.up' && e.node === 'b' && e.incarnation === b2.t.incarnation);
    expect(a.events[downIdx]).toMatchObject({ type: 'member.down', node: 'b', incarnation: old, reason: 'restarted' });
    expect(upIdx).toBeGreaterThan(downIdx);
  });

  it('marks a node that closes gracefully down at once', async () => {
    const a = await startNode('a', { heartbeatMs: 1_000 });
    const b = await startNode('b', { heartbeatMs: 1_000, seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 5_000, 'a and b up');
    const started = Date.now();
    await b.t.close();
    await until(() => a.t.status('b') === 'down', 1_000, 'b down');
    expect(Date.now() - started).toBeLessThan(500);
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'member.down', node: 'b', reason: 'left' }));
  });

  it('reconnects by itself after links are cut, without declaring anyone down', async () => {
    const a = await startNode('a');
    const b = await startNode('b', { seeds: [a.url] });
    const c = await startNode('c', { seeds: [a.url] });
    nodes.push(a, b, c);
    await until(() => allUp([a, b, c]), 5_000, 'mesh up');
    for (let i = 0; i < 3; i++) {
      const before = b.t.stats().reconnects;
      expect(b.t.dropLinks()).toBeGreaterThanOrEqual(2);
      await until(() => b.t.stats().reconnects >= before + 2 && b.t.links().filter((l) => l.active).length === 2, 2_000, 'b relinked');
    }
    await sleep(hb);
    expect(allUp([a, b, c])).toBe(true);
    expect(b.t.stats().reconnects).toBeGreaterThanOrEqual(6);
    expect([a, b, c].flatMap((n) => n.events).filter((e) => e.type === 'member.down')).toEqual([]);
  });
});
