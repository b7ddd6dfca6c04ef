import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import type { TransportEvent } from '../../transport/index.js';
import { until } from '../helpers.js';
import { drive, driveUntil, quiesce, settled, tickOf } from './clocked.js';
import { allUp, closeAll, FAST, startNode, type TestNode } from './helpers.js';

// Every node of a test shares one ManualClock: heartbeats, the failure detector, dials and
// backoff run on it, and the sockets are real. Nothing here reads the wall clock.
const hb = FAST.heartbeatMs;
const tick = tickOf(hb);

function firstAt(n: TestNode, pred: (e: TransportEvent) => boolean): number | undefined {
  return n.timeline.find((x) => pred(x.e))?.at;
}

const about = (n: TestNode, node: string, type: TransportEvent['type']) => n.events.filter((e) => e.type === type && 'node' in e && e.node === node);

describe('failure detection and restarts (on the injected clock)', () => {
  const nodes: Array<TestNode | undefined> = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  async function mesh(clock: ManualClock, ids: string[], options: { heartbeatMs?: number } = {}): Promise<TestNode[]> {
    const first = await startNode(ids[0]!, { clock, ...options });
    const out = [first];
    for (const id of ids.slice(1)) out.push(await startNode(id, { clock, seeds: [first.url], ...options }));
    nodes.push(...out);
    await driveUntil(clock, out, tickOf(options.heartbeatMs ?? hb), () => allUp(out) && settled(out), 20 * hb, 'mesh up');
    return out;
  }

  it('marks a crashed node suspect then down within 3 heartbeat intervals, and up again after it restarts with a new incarnation', async () => {
    const clock = new ManualClock(10_000);
    const [a, b, c] = (await mesh(clock, ['a', 'b', 'c'])) as [TestNode, TestNode, TestNode];
    await drive(clock, [a, b, c], 3 * hb, tick); // a steady state: heartbeats flowing
    const oldIncarnation = c.t.incarnation;
    const port = Number(new URL(c.url).port);

    const killedAt = clock.now();
    await c.t.close({ abrupt: true }); // no goodbye: indistinguishable from a crash
    await until(() => [a, b].every((n) => !n.t.links().some((l) => l.node === 'c')), 15_000, 'the cut seen');
    // Exactly 3 intervals of clock time: by then both must have declared c down.
    await drive(clock, [a, b], 3 * hb, tick);
    for (const n of [a, b]) {
      expect(n.t.status('c')).toBe('down');
      const suspectAt = firstAt(n, (e) => e.type === 'member.suspect' && e.node === 'c')!;
      const downAt = firstAt(n, (e) => e.type === 'member.down' && e.node === 'c')!;
      expect(suspectAt).toBeGreaterThanOrEqual(killedAt + 2 * hb - tick); // not before 2 silent intervals
      expect(suspectAt).toBeLessThan(downAt);
      expect(downAt - killedAt).toBeLessThanOrEqual(3 * hb);
      const [down] = about(n, 'c', 'member.down');
      expect(down).toMatchObject({ type: 'member.down', node: 'c', incarnation: oldIncarnation, reason: 'heartbeat' });
      expect((down as { silentMs: number }).silentMs).toBeLessThan(3 * hb);
    }
    // the live pair never doubted each other
    expect([...about(a, 'b', 'member.suspect'), ...about(b, 'a', 'member.suspect'), ...about(a, 'b', 'member.down'), ...about(b, 'a', 'member.down')]).toEqual([]);
    expect(() => a.t.send('c', { id: 'x', to: 'troupe://c/user/s', type: 't', createdAt: 0, payload: 0 })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }),
    );

    const c2 = await startNode('c', { port, seeds: [a.url], clock });
    nodes.push(c2);
    expect(c2.t.incarnation).not.toBe(oldIncarnation);
    await driveUntil(clock, [a, b, c2], tick, () => allUp([a, b, c2]) && settled([a, b, c2]), 20 * hb, 'c up again everywhere');
    for (const n of [a, b]) {
      expect(n.t.members().find((m) => m.node === 'c')).toMatchObject({ status: 'up', incarnation: c2.t.incarnation });
      expect(n.events).toContainEqual(expect.objectContaining({ type: 'member.up', node: 'c', incarnation: c2.t.incarnation }));
    }
  });

  it('a member that stalls past two intervals is suspect, and up again when it speaks before the third', async () => {
    const clock = new ManualClock(10_000);
    const [a, b] = (await mesh(clock, ['a', 'b'])) as [TestNode, TestNode];
    await drive(clock, [a, b], 2 * hb, tick);
    // a hears nothing from b while the clock moves (frames are not read in between)...
    clock.advance(2 * hb + tick);
    expect(a.t.status('b')).toBe('suspect');
    expect(about(a, 'b', 'member.suspect')).toHaveLength(1);
    // ...then b's heartbeats are read before the third interval ends
    await quiesce([a, b]);
    await drive(clock, [a, b], tick, tick);
    expect(a.t.status('b')).toBe('up');
    expect(about(a, 'b', 'member.down')).toEqual([]);
  });

  it('treats a restart seen before the failure detector fired as down (old incarnation) then up (new)', async () => {
    const clock = new ManualClock(10_000);
    const [a, b] = (await mesh(clock, ['a', 'b'], { heartbeatMs: 1_000 })) as [TestNode, TestNode];
    const old = b.t.incarnation;
    const port = Number(new URL(b.url).port);
    await b.t.close({ abrupt: true });
    const b2 = await startNode('b', { heartbeatMs: 1_000, port, seeds: [a.url], clock });
    nodes.push(b2);
    const t0 = clock.now();
    await driveUntil(clock, [a, b2], tickOf(1_000), () => a.t.members().find((m) => m.node === 'b')?.incarnation === b2.t.incarnation, 1_000, 'new incarnation seen');
    expect(clock.now() - t0).toBeLessThan(2 * 1_000); // before the detector could have fired
    expect(a.t.status('b')).toBe('up');
    const downIdx = a.events.findIndex((e) => e.type === 'member.down' && e.node === 'b');
    const upIdx = a.events.findIndex((e) => e.type === 'member.up' && e.node === 'b' && e.incarnation === b2.t.incarnation);
    expect(a.events[downIdx]).toMatchObject({ type: 'member.down', node: 'b', incarnation: old, reason: 'restarted' });
    expect(upIdx).toBeGreaterThan(downIdx);
  });

  it('marks a node that closes gracefully down at once, with no clock time passing', async () => {
    const clock = new ManualClock(10_000);
    const [a, b] = (await mesh(clock, ['a', 'b'], { heartbeatMs: 1_000 })) as [TestNode, TestNode];
    const before = clock.now();
    await b.t.close();
    await until(() => a.t.status('b') === 'down', 15_000, 'b down');
    expect(clock.now()).toBe(before); // so not by heartbeat silence
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'member.down', node: 'b', reason: 'left' }));
  });

  it('reconnects by itself after links are cut, without declaring anyone down', async () => {
    const clock = new ManualClock(10_000);
    const [a, b, c] = (await mesh(clock, ['a', 'b', 'c'])) as [TestNode, TestNode, TestNode];
    for (let i = 0; i < 3; i++) {
      const before = b.t.stats().reconnects;
      expect(b.t.dropLinks()).toBeGreaterThanOrEqual(2);
      await driveUntil(clock, [a, b, c], tick, () => b.t.stats().reconnects >= before + 2 && settled([a, b, c]), 20 * hb, 'b relinked');
    }
    // several intervals of steady state afterwards: nobody is even suspected
    await drive(clock, [a, b, c], 4 * hb, tick);
    expect(allUp([a, b, c])).toBe(true);
    expect(b.t.stats().reconnects).toBeGreaterThanOrEqual(6);
    expect([a, b, c].flatMap((n) => n.events).filter((e) => e.type === 'member.down' || e.type === 'member.suspect')).toEqual([]);
  });
});
