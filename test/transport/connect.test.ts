import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { CLOSE_CODES } from '../../transport/index.js';
import { closeAll, startNode, type TestNode } from './helpers.js';

describe('connect: a failed handshake is surfaced to whoever asked to connect', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('resolves with the node id once the link is up', async () => {
    const a = await startNode('a', { secret: 'k' });
    const b = await startNode('b', { secret: 'k' });
    nodes.push(a, b);
    await expect(b.t.connect(a.url)).resolves.toBe('a');
    await expect(b.t.connect(a.url)).resolves.toBe('a'); // already linked
  });

  it('rejects with TROUPE_ERR_TRANSPORT_AUTH on a wrong secret, a missing secret or another cluster', async () => {
    const a = await startNode('a', { secret: 'right', clusterName: 'blue' });
    const wrong = await startNode('w', { secret: 'wrong', clusterName: 'blue' });
    const none = await startNode('n', { clusterName: 'blue' });
    const other = await startNode('o', { secret: 'right', clusterName: 'green' });
    nodes.push(a, wrong, none, other);
    await expect(wrong.t.connect(a.url)).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_AUTH', details: { url: a.url, closeCode: CLOSE_CODES.auth } });
    await expect(none.t.connect(a.url)).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_AUTH', details: { closeCode: CLOSE_CODES.auth } });
    await expect(other.t.connect(a.url)).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_AUTH', details: { closeCode: CLOSE_CODES.clusterMismatch } });
    expect(a.t.members()).toHaveLength(1);
  });

  it('rejects with NODE_DOWN when nothing links within its timeout, on the clock', async () => {
    const clock = new ManualClock(0);
    const probe = await startNode('probe');
    const deadUrl = probe.url;
    await probe.t.close();
    const a = await startNode('a', { clock });
    nodes.push(a);
    const p = a.t.connect(deadUrl, { timeoutMs: 1_000 });
    clock.advance(1_000);
    await expect(p).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' });
    await expect(a.t.connect('http://nope')).rejects.toMatchObject({ code: 'TROUPE_ERR_CONFIG_INVALID' });
  });
});
