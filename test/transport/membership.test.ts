import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { allUp, closeAll, startNode, type TestNode } from './helpers.js';

describe('membership by seeds and gossip', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('three nodes seeded only with the first all see three members up, and a fourth is learned by all', async () => {
    const a = await startNode('a');
    nodes.push(a);
    nodes.push(await startNode('b', { seeds: [a.url] }));
    nodes.push(await startNode('c', { seeds: [a.url] }));
    await until(() => allUp(nodes, 3), 5_000, 'three members up everywhere');
    for (const n of nodes) {
      expect(n.t.members()[0]).toMatchObject({ node: n.t.nodeId, status: 'up', incarnation: n.t.incarnation });
      expect(n.t.members().map((m) => m.node).sort()).toEqual(['a', 'b', 'c']);
    }
    // b and c only ever dialed a, so b<->c was learned from gossip.
    expect(nodes[1]!.events.some((e) => e.type === 'member.up' && e.node === 'c')).toBe(true);

    nodes.push(await startNode('d', { seeds: [a.url] }));
    await until(() => allUp(nodes, 4), 5_000, 'four members up everywhere');
    const peerOfD = nodes[3]!.url;
    for (const n of nodes.slice(0, 3)) expect(n.t.members().find((m) => m.node === 'd')?.peer).toBe(peerOfD);
  });
});
