import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, encodeEnvelope, type Envelope, type TroupeError } from '../../protocol/index.js';
import { MemoryInboxStore, MemoryOutboxStore } from '../../transport/index.js';
import { settle, until } from '../helpers.js';
import { allUp, closeAll, envelope, startNode, type TestNode } from './helpers.js';

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
    await until(() => allUp([a, b]), 15_000, 'a and b up');
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
        await until(() => a.t.links().some((l) => l.active) && b.t.links().some((l) => l.active), 15_000, 'relinked');
        drops += (drops & 1) === 0 ? a.t.dropLinks('b') : b.t.dropLinks('a');
      }
      if (i % 50 === 0) await settle(1);
    }
    expect(drops).toBeGreaterThanOrEqual(5);
    await until(() => seen.size === total && outbox.size() === 0, 15_000, 'all delivered and acked');
    // Nothing is left to re-send; copies still on the wire reach b before a fence sent after
    // them on the same (ordered) link, so once b has the fence every copy was dealt with.
    let fenced = false;
    const deliver = b.onEnvelope;
    b.onEnvelope = (env, meta) => {
      if (env.payload === 'fence') fenced = true;
      else deliver(env, meta);
    };
    await until(() => a.t.links().some((l) => l.active), 15_000, 'linked');
    a.t.send('b', envelope('b', 'fence'));
    await until(() => fenced, 15_000, 'the fence at b');
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
    await until(() => later.received.length === 1 && a.t.pendingDurable() === 0, 15_000, 'delivered');
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
    await until(() => b.received.length === 10 && outbox.size() === 0, 15_000, 'delivered after restart');
    expect(b.received.map((r) => (r.env.payload as { i: number }).i)).toEqual([...Array(10).keys()]);
  });

  it('re-delivers inbox entries not marked done once at start, and does not deliver their re-sent copies again', async () => {
    const inbox = new MemoryInboxStore();
    const outbox = new MemoryOutboxStore();
    const b1 = await startNode('b', { inbox });
    const a = await startNode('a', { outbox, seeds: [b1.url] });
    nodes.push(a);
    await until(() => allUp([a, b1]), 15_000, 'up');
    await a.t.sendDurable('b', { ...envelope('b', 'not done'), from: 'troupe://a/user/src', durable: true });
    await until(() => b1.received.length === 1 && outbox.size() === 0, 15_000, 'stored, acked and delivered');
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
    await until(() => allUp([a, b2]), 15_000, 'up again');
    a.t.dropLinks();
    await until(() => outbox.size() === 0, 15_000, 'duplicate acked');
    expect(b2.received).toHaveLength(1);
  });

  it('refuses an invalid durable envelope before it reaches the outbox, and the link keeps carrying traffic', async () => {
    const outbox = new MemoryOutboxStore();
    const a = await startNode('a', { outbox });
    const b = await startNode('b', { seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    // An id over 128 chars, or a bad address, would fail validation on b and close the link
    // on every re-send, forever.
    for (const bad of [{ ...envelope('b'), id: 'x'.repeat(200) }, { ...envelope('b'), to: 'not-an-address' }]) {
      await expect(a.t.sendDurable('b', { ...bad, durable: true })).rejects.toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_INVALID' });
    }
    expect(outbox.size()).toBe(0);
    await a.t.sendDurable('b', { ...envelope('b', 'ok'), durable: true });
    a.t.send('b', envelope('b', 'plain'));
    await until(() => b.received.length === 2 && outbox.size() === 0, 15_000, 'both delivered');
    expect(b.received.map((r) => r.env.payload).sort()).toEqual(['ok', 'plain']);
    expect(b.t.stats().protocolErrors).toBe(0);
    expect(a.t.stats().reconnects).toBe(0);
  });

  it('refuses a durable envelope that fits a batch frame but not a durable frame', async () => {
    const outbox = new MemoryOutboxStore();
    const a = await startNode('a', { outbox, maxFrameBytes: 4_096 });
    const b = await startNode('b', { seeds: [a.url], maxFrameBytes: 4_096 });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    const sized = (id: string): Envelope => {
      // As large as a batch frame of 4096 bytes can carry (19 bytes of batch framing).
      const env = { ...envelope('b'), id, durable: true, payload: '' };
      env.payload = 'y'.repeat(4_096 - 19 - encodeEnvelope(env).byteLength - 2);
      expect(encodeEnvelope(env).byteLength).toBe(4_096 - 19);
      return env;
    };
    a.t.send('b', sized('plain-near-limit'));
    await expect(a.t.sendDurable('b', sized('durable-near-limit'))).rejects.toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE' });
    expect(outbox.size()).toBe(0);
    await a.t.sendDurable('b', { ...envelope('b', 'small'), durable: true });
    await until(() => b.received.length === 2 && outbox.size() === 0, 15_000, 'delivered');
    expect(b.received.map((r) => r.env.id)).toContain('plain-near-limit');
    expect(b.t.stats().protocolErrors).toBe(0);
    expect(a.t.stats().reconnects).toBe(0);
  });

  it("dead-letters a durable envelope too large for the peer's smaller frame limit, drops it from the outbox, and keeps the link carrying traffic", async () => {
    const outbox = new MemoryOutboxStore();
    const undelivered: Array<{ node: string; envs: Envelope[]; error: TroupeError }> = [];
    const a = await startNode('a', { outbox, onUndelivered: (node, envs, error) => undelivered.push({ node, envs, error }) });
    const b = await startNode('b', { seeds: [a.url], maxFrameBytes: 64 * 1024 });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    const big = { ...envelope('b', 'y'.repeat(70 * 1024)), durable: true };
    await a.t.sendDurable('b', big); // fits a's frames: committed
    for (let i = 0; i < 3; i++) await a.t.sendDurable('b', { ...envelope('b', i), durable: true });
    a.t.send('b', envelope('b', 'plain'));
    await until(() => b.received.length === 4 && outbox.size() === 0, 15_000, 'the rest delivered, the outbox empty');
    expect(undelivered).toHaveLength(1);
    expect(undelivered[0]!.node).toBe('b');
    expect(undelivered[0]!.envs.map((e) => e.id)).toEqual([big.id]);
    expect(undelivered[0]!.error.code).toBe('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expect(b.received.map((r) => r.env.id)).not.toContain(big.id);
    expect(b.t.stats().protocolErrors).toBe(0);
    expect(a.t.stats().reconnects).toBe(0);
  });

  it("splits acks into frames under the sender's frame limit", async () => {
    const outbox = new MemoryOutboxStore();
    const a = await startNode('a', { outbox, maxFrameBytes: 1_024 });
    const b = await startNode('b', { seeds: [a.url], record: false });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    let delivered = 0;
    b.onEnvelope = () => delivered++;
    // 128-char ids: 60 of them ack in about 8 KB, far over a's 1 KB frames.
    for (let i = 0; i < 60; i++) await a.t.sendDurable('b', { ...envelope('b', i), id: `${i}`.padStart(128, 'i'), durable: true });
    await until(() => delivered === 60 && outbox.size() === 0, 15_000, 'all delivered and acked');
    expect(a.t.stats().acksIn).toBe(60);
    expect(a.t.stats().protocolErrors).toBe(0);
    expect(a.t.stats().reconnects).toBe(0);
  });

  it('neither acks nor delivers an envelope whose inbox put completes after close; the next start re-delivers it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let puts = 0;
    let lastPut: Promise<boolean> | undefined;
    class GatedInbox extends MemoryInboxStore {
      override put(id: string, bytes: Uint8Array): Promise<boolean> {
        puts++;
        lastPut = gate.then(() => super.put(id, bytes));
        return lastPut;
      }
    }
    const inbox = new GatedInbox();
    const outbox = new MemoryOutboxStore();
    const b1 = await startNode('b', { inbox });
    const a = await startNode('a', { outbox, seeds: [b1.url] });
    nodes.push(a);
    await until(() => allUp([a, b1]), 15_000, 'up');
    await a.t.sendDurable('b', { ...envelope('b', 'late'), from: 'troupe://a/user/src', durable: true });
    await until(() => puts === 1, 15_000, 'the put started');
    await b1.t.close();
    release();
    // The transport's own callback on the put was attached first, so it has run by now.
    await lastPut;
    expect(b1.received).toHaveLength(0);
    expect(inbox.pending()).toHaveLength(1);
    expect(outbox.size()).toBe(1); // never acked
    const b2 = await startNode('b', { inbox, seeds: [a.url] });
    nodes.push(b2);
    expect(b2.received).toHaveLength(1);
    expect(b2.received[0]!.env.payload).toBe('late');
    await until(() => outbox.size() === 0, 15_000, 're-sent copy acked');
    expect(b2.received).toHaveLength(1);
    expect(b2.t.stats().durableDuplicates).toBe(1);
  });

  it('reads the outbox a window at a time after a link comes up, not on every send', async () => {
    const limits: Array<number | undefined> = [];
    class CountingOutbox extends MemoryOutboxStore {
      override pending(peer: string, options?: { limit?: number }): Array<{ id: string; bytes: Uint8Array }> {
        limits.push(options?.limit);
        return super.pending(peer, options);
      }
    }
    const outbox = new CountingOutbox();
    const a = await startNode('a', { outbox, durableWindow: 50 });
    const b = await startNode('b', { seeds: [a.url], record: false });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    let delivered = 0;
    b.onEnvelope = (_env, meta) => {
      delivered++;
      void meta.durable!.done();
    };
    const readsBefore = limits.length;
    const total = 1_000;
    for (let i = 0; i < total; i++) {
      await a.t.sendDurable('b', { ...envelope('b', i), durable: true });
      if (i % 100 === 99) await settle(1);
    }
    await until(() => delivered === total && outbox.size() === 0, 15_000, 'all delivered and acked');
    // Each read yields at least half a window; sends while the window has room append.
    expect(limits.length - readsBefore).toBeLessThanOrEqual((2 * total) / 50);
    expect(limits.every((l) => l === 50)).toBe(true);
  });

  it('re-sends an unacknowledged durable envelope once durableRetryMs has passed on the injected clock, not before', async () => {
    const clock = new ManualClock(1_000_000);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const puts: Array<Promise<boolean>> = [];
    // b stores (and so acknowledges) nothing until the gate opens.
    class GatedInbox extends MemoryInboxStore {
      override put(id: string, bytes: Uint8Array): Promise<boolean> {
        const p = gate.then(() => super.put(id, bytes));
        puts.push(p);
        return p;
      }
    }
    const outbox = new MemoryOutboxStore();
    // Failure detection far slower than the retry (ticks every 100 ms of a's clock).
    const a = await startNode('a', { outbox, clock, heartbeatMs: 800, suspectAfterMisses: 4, downAfterMisses: 5, durableRetryMs: 1_000 });
    const b = await startNode('b', { seeds: [a.url], inbox: new GatedInbox() });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    await a.t.sendDurable('b', { ...envelope('b', 'once'), durable: true });
    expect(a.t.stats().durableOut).toBe(1);
    await until(() => puts.length === 1, 15_000, 'the first copy at b');

    clock.advance(999);
    expect(a.t.stats().durableOut).toBe(1);
    expect(a.t.pendingDurable('b')).toBe(1);
    clock.advance(101);
    expect(a.t.stats().durableOut).toBe(2);
    await until(() => puts.length === 2, 15_000, 'the re-sent copy at b');

    release();
    await until(() => outbox.size() === 0, 15_000, 'acked');
    expect(b.received.map((r) => r.env.payload)).toEqual(['once']);
    expect(b.t.stats().durableDuplicates).toBe(1);
  });
});
