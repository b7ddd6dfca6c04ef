import { afterEach, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../protocol/index.js';
import { MemoryInboxStore, MemoryOutboxStore } from '../../transport/index.js';
import { allUp, closeAll, envelope, sleep, startNode, tick, waitFor, type TestNode } from './helpers.js';

describe('durable delivery', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('delivers 2,000 durable envelopes exactly once while links are cut again and again, and acks every outbox entry', async () => {
    const outbox = new MemoryOutboxStore();
    const a = await startNode('a', { outbox, durableRetryMs: 300, durableWindow: 200 });
    const b = await startNode('b', { seeds: [a.url], record: false });
    nodes.push(a, b);
    await waitFor(() => allUp([a, b]), 3_000, 'a and b up');
    const seen = new Map<string, number>();
    b.onEnvelope = (env, meta) => {
      expect(meta.durable?.id).toBe(env.id);
      seen.set(env.id, (seen.get(env.id) ?? 0) + 1);
      void meta.durable!.done();
    };
    const total = 2_000;
    let drops = 0;
    for (let i = 0; i < total; i++) {
      await a.t.sendDurable('b', { ...envelope('b', { i }), durable: true });
      if (i % 300 === 150) {
        // Cut from either side, mid-stream: some envelopes and acks are lost in flight.
        await waitFor(() => a.t.links().some((l) => l.active) && b.t.links().some((l) => l.active), 3_000, 'relinked');
        drops += (drops & 1) === 0 ? a.t.dropLinks('b') : b.t.dropLinks('a');
      }
      if (i % 50 === 0) await tick();
    }
    expect(drops).toBeGreaterThanOrEqual(5);
    await waitFor(() => seen.size === total && outbox.size() === 0, 15_000, 'all delivered and acked');
    await sleep(100);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(seen.size).toBe(total);
    expect(a.t.pendingDurable('b')).toBe(0);
    expect(a.t.stats().reconnects).toBeGreaterThanOrEqual(5);
    expect(b.t.stats().durableIn).toBe(total);
  });

  it('keeps durable envelopes for a node that is not up yet and sends them when it joins', async () => {
    const a = await startNode('a');
    nodes.push(a);
    await a.t.sendDurable('later', { ...envelope('later', 'hello'), durable: true });
    expect(a.t.pendingDurable('later')).toBe(1);
    const later = await startNode('later', { seeds: [a.url] });
    nodes.push(later);
    await waitFor(() => later.received.length === 1 && a.t.pendingDurable() === 0, 3_000, 'delivered');
    expect(later.received[0]!.meta).toMatchObject({ fromNode: 'a', durable: { id: later.received[0]!.env.id } });
  });

  it('re-sends a persisted outbox after the sender restarts', async () => {
    const outbox = new MemoryOutboxStore();
    const a1 = await startNode('a', { outbox });
    for (let i = 0; i < 10; i++) await a1.t.sendDurable('b', { ...envelope('b', { i }), durable: true });
    await a1.t.close();
    expect(outbox.size('b')).toBe(10);
    const b = await startNode('b');
    const a2 = await startNode('a', { outbox, seeds: [b.url] });
    nodes.push(b, a2);
    await waitFor(() => b.received.length === 10 && outbox.size() === 0, 3_000, 'delivered after restart');
    expect(b.received.map((r) => (r.env.payload as { i: number }).i)).toEqual([...Array(10).keys()]);
  });

  it('re-delivers inbox entries not marked done once at start, and does not deliver their re-sent copies again', async () => {
    const inbox = new MemoryInboxStore();
    const outbox = new MemoryOutboxStore();
    const b1 = await startNode('b', { inbox });
    const a = await startNode('a', { outbox, seeds: [b1.url] });
    nodes.push(a);
    await waitFor(() => allUp([a, b1]), 3_000, 'up');
    await a.t.sendDurable('b', { ...envelope('b', 'not done'), from: 'troupe://a/user/src', durable: true });
    await waitFor(() => b1.received.length === 1 && outbox.size() === 0, 3_000, 'stored, acked and delivered');
    // b "crashes" before processing it (done() never called).
    await b1.t.close({ abrupt: true });
    expect(inbox.pending()).toHaveLength(1);
    const b2 = await startNode('b', { inbox, port: Number(new URL(b1.url).port), seeds: [a.url] });
    nodes.push(b2);
    expect(b2.received).toHaveLength(1);
    expect(b2.received[0]!.meta).toMatchObject({ fromNode: 'a', durable: { id: b2.received[0]!.env.id } });
    await b2.received[0]!.meta.durable!.done();
    expect(inbox.pending()).toHaveLength(0);
    // Duplicate copies (as after a lost ack) are acked but not delivered again.
    await outbox.add('b', b2.received[0]!.env.id, encodeEnvelope(b2.received[0]!.env));
    await waitFor(() => allUp([a, b2]), 3_000, 'up again');
    a.t.dropLinks();
    await waitFor(() => outbox.size() === 0, 3_000, 'duplicate acked');
    expect(b2.received).toHaveLength(1);
  });
});
