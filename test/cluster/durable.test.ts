import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { behaviour, startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { startFixture, type TroupeProcess } from '../process.js';

const HB = 150;
const procs: TroupeProcess[] = [];
const cleanups: Array<() => void> = [];
let a: RunningNode | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  await a?.close();
  cleanups.forEach((c) => c());
});
function dir(): string {
  const t = tempDir('troupe-durable-');
  cleanups.push(t.cleanup);
  return t.dir;
}

// These move tens of thousands of messages through real processes: seconds on an idle
// machine, minutes on two busy cores. Their deadlines bound a hang, not a speed.
describe('durable delivery', () => {
  it('5,000 durable messages through 10+ cut links and a SIGKILLed receiver: each processed exactly once', async () => {
    a = await startNode({ id: 'd-a', dataDir: dir(), logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB } });
    const bData = dir();
    const startB = async (port: number): Promise<TroupeProcess> => {
      const p = await startFixture('durable-node.mjs', ['d-b', bData, String(port), a!.peer!.url, String(HB), 'open']);
      procs.push(p);
      return p;
    };
    let b = await startB(0);
    const bPort = Number(new URL(b.ready.peer!).port);
    await until(() => a!.clusterInfo().members.some((m) => m.node === 'd-b' && m.status === 'up'), 30_000, 'd-b up');

    const N = 5_000;
    let cuts = 0;
    /** Cut the link to d-b (if there is one) and wait for its reconnect, so every cut counts. */
    const cut = async (): Promise<void> => {
      const before = a!.cluster!.transport.stats().reconnects;
      if (a!.cluster!.transport.dropLinks('d-b') === 0) return;
      cuts++;
      await until(() => a!.cluster!.transport.stats().reconnects > before, 30_000, 'relinked after a cut');
    };
    let restart: Promise<TroupeProcess> | undefined;
    // 100 at a time: sends overlap, and links are still cut every 400
    for (let from = 0; from < N; from += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => a!.tellDurable('troupe://d-b/user/sink', { type: 'd', n: from + i })));
      const n = from + 99;
      if (n % 400 === 399) await cut();
      if (n === 2_499) {
        await b.kill();
        restart = startB(bPort);
      }
    }
    b = await restart!;
    // keep cutting while the backlog drains
    while (cuts < 10) {
      await until(() => a!.cluster!.transport.links().some((l) => l.node === 'd-b' && l.active), 30_000, 'linked to d-b');
      await cut();
    }
    const stats = await sinkStats(N, 240_000);
    expect(cuts).toBeGreaterThanOrEqual(10);
    expect(stats).toEqual({ total: N, distinct: N, dups: 0 });
    expect(a.cluster!.transport.stats().reconnects).toBeGreaterThanOrEqual(10);
    await b.stop();
  }, 360_000);

  it('a backlog of 5x the default mailbox (50,000) through a stalled, then SIGKILLed and restarted receiver: nothing lost, nothing twice', async () => {
    await a?.close();
    a = await startNode({ id: 'd-a', dataDir: dir(), logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB } });
    const bData = dir();
    const startB = async (port: number, gate: 'open' | 'closed'): Promise<TroupeProcess> => {
      const p = await startFixture('durable-node.mjs', ['d-b', bData, String(port), a!.peer!.url, String(HB), gate]);
      procs.push(p);
      return p;
    };
    let b = await startB(0, 'closed');
    const bPort = Number(new URL(b.ready.peer!).port);
    await until(() => a!.clusterInfo().members.some((m) => m.node === 'd-b' && m.status === 'up'), 30_000, 'd-b up');

    // The sink's first message waits at the gate: everything else piles up at the receiver.
    const N = 50_000;
    const BATCH = 1_000;
    for (let from = 0; from < N; from += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, (_, i) => a!.tellDurable('troupe://d-b/user/sink', { type: 'd', n: from + i })));
    }
    // Every one acknowledged: the receiver's inbox committed all 50,000 while the sink was stalled.
    await until(() => a!.cluster!.transport.pendingDurable() === 0, 240_000, 'all acknowledged by the stalled receiver');

    a.tell('troupe://d-b/user/gate', 'open');
    await sinkStats(N / 4, 240_000);
    // Crash mid-backlog: what was journaled stays done, the rest is re-delivered from the inbox.
    await b.kill();
    b = await startB(bPort, 'open');
    const stats = await sinkStats(N, 240_000);
    expect(stats).toEqual({ total: N, distinct: N, dups: 0 });
    expect(a.cluster!.transport.pendingDurable()).toBe(0);
    await b.stop();
  }, 600_000);
});

describe('durable delivery to a node without a data dir', () => {
  it('feeds a persistent actor on the memory journal past its mailbox capacity; each message handled once', async () => {
    const b = await startNode({ id: 'm-b', logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB } });
    const sender = await startNode({ id: 'm-a', logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB, seeds: [b.peer!.url] } });
    try {
      const seen = new Map<number, number>();
      b.spawn(behaviour<number, { n: number } | { type: 'count' }, number>({
        initial: () => 0,
        persistence: { apply: (s) => s + 1 },
        receive: async (s, m, ctx) => {
          if ('type' in m) return void ctx.reply(s);
          seen.set(m.n, (seen.get(m.n) ?? 0) + 1);
          await ctx.persist(m.n);
        },
      }), { name: 'counter', mailboxCapacity: 50 });
      await until(() => sender.clusterInfo().members.some((m) => m.node === 'm-b' && m.status === 'up'), 30_000, 'm-b up');
      const N = 500; // ten times the mailbox
      await Promise.all(Array.from({ length: N }, (_, n) => sender.tellDurable('troupe://m-b/user/counter', { n })));
      await until(async () => (await b.ask<number>('counter', { type: 'count' })) === N && sender.cluster!.transport.pendingDurable() === 0, 20_000, 'all handled');
      expect(seen.size).toBe(N);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      // The feed learns a mailbox smaller than the node default from its first overflow: the
      // kernel records that one refusal as a dead letter before the feed takes the message back.
      expect((await b.deadLetters.list({})).filter((d) => d.reason !== 'mailbox-full')).toEqual([]);
      expect((await b.deadLetters.list({})).length).toBeLessThanOrEqual(1);
    } finally {
      await sender.close();
      await b.close();
    }
  }, 60_000);
});

describe('a durable envelope the receiver gives up on', () => {
  it('is a dead letter on the sender too, with the receiver\'s reason (no such actor, a message its schema rejects)', async () => {
    const b = await startNode({ id: 'n-b', logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB } });
    const sender = await startNode({ id: 'n-a', logger: silent, http: false, cluster: { port: 0, heartbeatMs: HB, seeds: [b.peer!.url] } });
    try {
      b.spawn(behaviour<null, { n: number }>({ messages: z.object({ n: z.number() }), receive: () => undefined }), { name: 'strict' });
      await until(() => sender.clusterInfo().members.some((m) => m.node === 'n-b' && m.status === 'up'), 30_000, 'n-b up');
      const lost = await sender.tellDurable('troupe://n-b/user/nobody', { n: 1 });
      const bad = await sender.tellDurable('troupe://n-b/user/strict', { n: 'one' });
      const good = await sender.tellDurable('troupe://n-b/user/strict', { n: 2 });
      let letters: Array<{ reason: string; envelope: { id: string; to: string } }> = [];
      await until(async () => {
        letters = await sender.deadLetters.list({});
        return letters.length >= 2;
      }, 30_000, 'the sender to hear of both');
      expect(letters.map((d) => [d.envelope.id, d.reason, d.envelope.to]).sort()).toEqual([
        [bad, 'invalid', 'troupe://n-b/user/strict'],
        [lost, 'not-found', 'troupe://n-b/user/nobody'],
      ].sort());
      expect(letters.map((d) => d.envelope.id)).not.toContain(good);
    } finally {
      await sender.close();
      await b.close();
    }
  }, 60_000);
});

/** Poll the sink (a polled condition, not a sleep) until it has handled at least `n`; its counts. */
async function sinkStats(n: number, timeoutMs: number): Promise<{ total: number; distinct: number; dups: number }> {
  let stats = { total: 0, distinct: 0, dups: 0 };
  await until(async () => {
    try {
      stats = await a!.ask('troupe://d-b/user/sink', { type: 'stats' }, { timeoutMs: 2_000 });
    } catch {
      return false;
    }
    return stats.total >= n && a!.cluster!.transport.pendingDurable() === 0;
  }, timeoutMs, `the sink to handle ${n}`);
  return stats;
}
