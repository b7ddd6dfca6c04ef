import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { driveUntil, settled, tickOf } from './clocked.js';
import { allUp, closeAll, FAST, startNode, type TestNode } from './helpers.js';

// The nodes share one ManualClock: dials, gossip rounds and heartbeats happen only as the
// test moves it, and between two steps every frame in flight is read (see clocked.ts).
const hb = FAST.heartbeatMs;
const tick = tickOf(hb);

describe('membership by seeds and gossip (on the injected clock)', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('three nodes seeded only with the first all see three members up, and a fourth is learned by all', async () => {
    const clock = new ManualClock(10_000);
    const a = await startNode('a', { clock });
    nodes.push(a);
    nodes.push(await startNode('b', { clock, seeds: [a.url] }));
    nodes.push(await startNode('c', { clock, seeds: [a.url] }));
    await driveUntil(clock, nodes, tick, () => allUp(nodes, 3) && settled(nodes), 40 * hb, 'three members up everywhere');
    for (const n of nodes) {
      expect(n.t.members()[0]).toMatchObject({ node: n.t.nodeId, status: 'up', incarnation: n.t.incarnation });
      expect(n.t.members().map((m) => m.node).sort()).toEqual(['a', 'b', 'c']);
    }
    // b and c only ever dialed a, so b<->c was learned from gossip.
    expect(nodes[1]!.events.some((e) => e.type === 'member.up' && e.node === 'c')).toBe(true);

    nodes.push(await startNode('d', { clock, seeds: [a.url] }));
    await driveUntil(clock, nodes, tick, () => allUp(nodes, 4) && settled(nodes), 40 * hb, 'four members up everywhere');
    const peerOfD = nodes[3]!.url;
    for (const n of nodes.slice(0, 3)) expect(n.t.members().find((m) => m.node === 'd')?.peer).toBe(peerOfD);
    // nobody was ever doubted on the way
    expect(nodes.flatMap((n) => n.events).filter((e) => e.type === 'member.suspect' || e.type === 'member.down')).toEqual([]);
  });
});
