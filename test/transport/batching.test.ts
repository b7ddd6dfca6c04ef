import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type Envelope } from '../../protocol/index.js';
import { settle, until } from '../helpers.js';
import { drive, driveUntil, settled, tickOf } from './clocked.js';
import { allUp, closeAll, envelope, FAST, rawHandshake, startNode, type TestNode } from './helpers.js';

describe('batching, ordering and bounded queues', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('delivers 100k sends in order in far fewer frames than envelopes', async () => {
    const a = await startNode('a', { record: false });
    const b = await startNode('b', { record: false, seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    const total = 100_000;
    let next = 0;
    let outOfOrder = 0;
    b.onEnvelope = (env, meta) => {
      if ((env.payload as { n: number }).n !== next || meta.fromNode !== 'a') outOfOrder++;
      next++;
    };
    const framesBefore = a.t.stats().framesOut;
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      a.t.send('b', { id: `m${i}`, to: 'troupe://b/user/sink', type: 'bench.ping', createdAt: 1, payload: { n: i } });
      if (i % 2_000 === 1_999) await settle(1); // a producer that yields, as actors do
    }
    await until(() => next === total, 15_000, 'all envelopes delivered');
    const ms = Date.now() - started;
    expect(outOfOrder).toBe(0);
    const s = a.t.stats();
    expect(s.envelopesOut).toBe(total);
    expect(b.t.stats().envelopesIn).toBe(total);
    const frames = s.framesOut - framesBefore;
    expect(frames).toBeLessThan(total / 50);
    process.stderr.write(`batching: ${total} envelopes in ${frames} frames, ${ms} ms (${Math.round(total / (ms / 1000))}/s)\n`);
  });

  it('throws QUEUE_FULL past the bounded queue while the peer is unreachable, then reports the queued envelopes undelivered once it is down', async () => {
    // On a ManualClock: the failure detector can fire only when the test moves time.
    const clock = new ManualClock(10_000);
    const hb = FAST.heartbeatMs;
    const tick = tickOf(hb);
    const undelivered: Envelope[] = [];
    const a = await startNode('a', { clock, maxQueue: 100, maxBatch: 50, onUndelivered: (_node, envs) => undelivered.push(...envs) });
    const b = await startNode('b', { clock, seeds: [a.url] });
    nodes.push(a, b);
    await driveUntil(clock, [a, b], tick, () => allUp([a, b]) && settled([a, b]), 20 * hb, 'a and b up');
    await b.t.close({ abrupt: true });
    await until(() => a.t.links().length === 0, 15_000, 'link gone');
    expect(a.t.status('b')).toBe('up'); // no clock time has passed: the failure detector has not fired
    for (let i = 0; i < 100; i++) a.t.send('b', envelope('b', { i }));
    expect(a.t.queued('b')).toBe(100);
    expect(() => a.t.send('b', envelope('b'))).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_QUEUE_FULL' }));
    expect(a.t.stats().queueFull).toBe(1);
    expect(undelivered).toEqual([]);
    // three silent heartbeat intervals of clock time: down, and the queue reported
    await drive(clock, [a], 3 * hb, tick);
    expect(a.t.status('b')).toBe('down');
    expect(undelivered.map((e) => (e.payload as { i: number }).i)).toEqual([...Array(100).keys()]);
    expect(a.t.stats().undelivered).toBe(100);
    expect(() => a.t.send('b', envelope('b'))).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }));
  });

  it('stops flushing into a stalled socket and throws QUEUE_FULL instead of buffering without bound', async () => {
    const a = await startNode('a', { maxQueue: 2_000, maxBatch: 500, highWaterBytes: 256 * 1024, heartbeatMs: 5_000 });
    nodes.push(a);
    const peer = await rawHandshake(a.url, { nodeId: 'stalled' });
    await until(() => a.t.status('stalled') === 'up', 15_000, 'stalled peer up');
    // Stop reading: the kernel buffers fill, then ws buffers, then our queue.
    (peer.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(1_024);
    let sent = 0;
    let full: unknown;
    for (let round = 0; round < 500 && full === undefined; round++) {
      try {
        for (let i = 0; i < 500; i++) {
          a.t.send('stalled', envelope('stalled', payload));
          sent++;
        }
      } catch (e) {
        full = e;
      }
      await settle(1);
    }
    expect(full).toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_QUEUE_FULL' });
    expect(a.t.queued('stalled')).toBe(2_000);
    // What ws holds is bounded by the high-water mark plus one flush worth of frames.
    expect(sent).toBeGreaterThan(2_000);
    peer.ws.terminate();
  });

  it('reports an envelope larger than a frame undelivered, and keeps batches under the peer\'s frame limit', async () => {
    const undelivered: Array<{ id: string; code: string }> = [];
    const a = await startNode('a', { onUndelivered: (_n, envs, err) => undelivered.push(...envs.map((e) => ({ id: e.id, code: err.code }))) }); // 4 MiB frames
    const b = await startNode('b', { seeds: [a.url], maxFrameBytes: 64 * 1024 });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    // Over a's own frame limit: found when its batch is packed at the flush.
    const huge = envelope('b', 'y'.repeat(5 * 1024 * 1024));
    a.t.send('b', huge);
    // Fits a's frames but not b's: reported as undelivered rather than breaking the link.
    const big = envelope('b', 'y'.repeat(70 * 1024));
    a.t.send('b', big);
    // Many envelopes that fit one by one are split across frames under b's limit.
    for (let i = 0; i < 200; i++) a.t.send('b', envelope('b', 'z'.repeat(1_000)));
    await until(() => b.received.length === 200, 15_000, '200 delivered');
    const tooLarge = 'TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE';
    expect(undelivered).toEqual([{ id: huge.id, code: tooLarge }, { id: big.id, code: tooLarge }]);
    expect(b.t.stats().protocolErrors).toBe(0);
    expect(b.t.stats().framesIn).toBeGreaterThan(3);
  });
});
