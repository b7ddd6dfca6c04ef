import { describe, expect, it } from 'vitest';
import { PeerTransport, resolvePeerTransportOptions } from '../../transport/index.js';
import { envelope } from './helpers.js';

const noop = () => undefined;

describe('options', () => {
  it('defaults every limit and freezes the result', () => {
    const o = resolvePeerTransportOptions({ nodeId: 'a', onEnvelope: noop });
    expect(o).toMatchObject({
      clusterName: 'troupe',
      host: '127.0.0.1',
      port: 0,
      heartbeatMs: 500,
      suspectAfterMisses: 2,
      downAfterMisses: 3,
      maxFrameBytes: 4 * 1024 * 1024,
      maxQueue: 10_000,
      reconnect: { minMs: 100, maxMs: 5_000, randomFactor: 0.2 },
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.reconnect)).toBe(true);
    expect(resolvePeerTransportOptions({ nodeId: 'a', onEnvelope: noop, reconnect: { minMs: 5 } }).reconnect).toEqual({ minMs: 5, maxMs: 5_000, randomFactor: 0.2 });
  });

  it('rejects invalid and conflicting options with a coded error naming the field', () => {
    const bad = [
      { nodeId: 'a/b' },
      { nodeId: 'a', port: 70_000 },
      { nodeId: 'a', seeds: ['http://x:1'] },
      { nodeId: 'a', suspectAfterMisses: 3, downAfterMisses: 3 },
      { nodeId: 'a', reconnect: { minMs: 10_000, maxMs: 100 } },
      { nodeId: 'a', heartbeatMs: 0 },
      { nodeId: 'a', maxBatch: 100, maxQueue: 10 },
    ];
    for (const b of bad) {
      expect(() => new PeerTransport({ ...b, onEnvelope: noop } as never)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
    }
    expect(() => new PeerTransport({ nodeId: 'a' } as never)).toThrow(/onEnvelope/);
  });
});

describe('lifecycle', () => {
  it('start is idempotent, close is idempotent and shared, and a closed transport refuses work', async () => {
    const t = new PeerTransport({ nodeId: 'a', onEnvelope: noop });
    expect(() => t.send('b', envelope('b'))).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_CLOSED' }));
    const [s1, s2] = await Promise.all([t.start(), t.start()]);
    expect(s1).toBe(s2);
    expect(s1.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(t.members()).toEqual([{ node: 'a', peer: s1.url, status: 'up', incarnation: t.incarnation }]);
    expect(t.status('a')).toBe('up');
    expect(t.status('nobody')).toBeUndefined();
    expect(() => t.send('nobody', envelope('nobody'))).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }));
    expect(() => t.send('a', envelope('a'))).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }));
    const c1 = t.close();
    const c2 = t.close();
    expect(c1).toBe(c2);
    await c1;
    await expect(t.start()).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_CLOSED' });
    await expect(t.sendDurable('b', envelope('b'))).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_CLOSED' });
  });

  it('close before start resolves, and a new incarnation is drawn per start', async () => {
    await new PeerTransport({ nodeId: 'a', onEnvelope: noop }).close();
    const t1 = new PeerTransport({ nodeId: 'a', onEnvelope: noop });
    const t2 = new PeerTransport({ nodeId: 'a', onEnvelope: noop });
    await Promise.all([t1.start(), t2.start()]);
    expect(t1.incarnation).not.toBe(t2.incarnation);
    await Promise.all([t1.close(), t2.close()]);
  });

  it('reports a port in use with a coded error', async () => {
    const t1 = new PeerTransport({ nodeId: 'a', onEnvelope: noop });
    const { url } = await t1.start();
    const t2 = new PeerTransport({ nodeId: 'b', port: Number(new URL(url).port), onEnvelope: noop });
    await expect(t2.start()).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_LISTEN' });
    await t2.close();
    await t1.close();
  });
});
