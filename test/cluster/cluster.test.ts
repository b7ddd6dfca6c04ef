import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, startTroupe, type TroupeProcess } from '../process.js';
import { rawHandshake } from '../transport/helpers.js';
import { encode } from '../../protocol/index.js';

const HB = 150;
const procs: TroupeProcess[] = [];
const nodes: RunningNode[] = [];
const cleanups: Array<() => void> = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  await Promise.all(nodes.map((n) => n.close()));
  cleanups.forEach((c) => c());
});
function dir(): string {
  const t = tempDir('troupe-cluster-');
  cleanups.push(t.cleanup);
  return t.dir;
}

interface ClusterView { self: string; members: Array<{ node: string; peer: string; status: string }> }
async function clusterOf(http: string): Promise<ClusterView> {
  return (await fetch(`${http}/api/v1/cluster`)).json() as Promise<ClusterView>;
}
const statusOf = (v: ClusterView, node: string): string | undefined => v.members.find((m) => m.node === node)?.status;

async function fixture(name: string, data: string, seeds: string[], port = 0, secret?: string): Promise<TroupeProcess> {
  const p = await startFixture('cluster-node.mjs', [name, data, String(port), seeds.join(',') || '-', String(HB), ...(secret ? [secret] : [])]);
  procs.push(p);
  return p;
}

async function localNode(id: string, seeds: string[], secret?: string): Promise<RunningNode> {
  const n = await startNode({ id, dataDir: dir(), logger: silent, http: false, cluster: { port: 0, seeds, heartbeatMs: HB, ...(secret ? { secret } : {}) } });
  nodes.push(n);
  return n;
}

describe('cluster of real processes', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('three nodes started with troupe start, seeded only with the first, all see three members up', async () => {
    const args = (name: string): string[] => ['--node', name, '--http-port', '0', '--peer-port', '0', '--data', dir(), '--heartbeat-ms', String(HB)];
    const a = await startTroupe(args('m1'));
    procs.push(a);
    expect(a.ready.peer).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const b = await startTroupe([...args('m2'), '--peers', a.ready.peer!]);
    const c = await startTroupe([...args('m3'), '--peers', a.ready.peer!]);
    procs.push(b, c);
    for (const p of [a, b, c]) {
      await until(async () => {
        const v = await clusterOf(p.ready.http);
        return v.members.length === 3 && v.members.every((m) => m.status === 'up');
      }, 30_000, `${p.ready.node} to see 3 members up`);
    }
    const v = await clusterOf(c.ready.http);
    expect(v.self).toBe('m3');
    expect(v.members.map((m) => m.node).sort()).toEqual(['m1', 'm2', 'm3']);
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  // How fast silence becomes down is the failure detector's business, tested on the injected
  // clock in test/transport/failure-detection.test.ts; here: a real SIGKILL is detected.
  it('marks a SIGKILLed node down; restarted, it is up again and answers remote asks', async () => {
    const a = await localNode('k-a', []);
    const bData = dir();
    let b = await fixture('k-b', bData, [a.peer!.url]);
    await until(() => a.clusterInfo().members.some((m) => m.node === 'k-b' && m.status === 'up'), 30_000, 'k-b up');
    expect(await a.ask('troupe://k-b/user/echo', 'hi')).toEqual({ node: 'k-b', echo: 'hi' });
    await b.kill();
    await until(() => statusOf(a.clusterInfo(), 'k-b') === 'down', 30_000, 'k-b down');
    b = await fixture('k-b', bData, [a.peer!.url]);
    await until(() => statusOf(a.clusterInfo(), 'k-b') === 'up', 30_000, 'k-b up again');
    expect(await a.ask('troupe://k-b/user/echo', 'again')).toEqual({ node: 'k-b', echo: 'again' });
    await b.stop();
  });

  it('remote tell, ask and death watch; an ask to an actor on a dead node fails with a coded error before its timeout', async () => {
    const a = await localNode('w-a', []);
    const b = await fixture('w-b', dir(), [a.peer!.url]);
    await until(() => statusOf(a.clusterInfo(), 'w-b') === 'up', 30_000, 'w-b up');
    // ask + tell (tell then ask on the same actor: in order over the link)
    const replies: unknown[] = [];
    const collector = a.spawn<null, unknown>((_s, m) => { replies.push(m); }, { name: 'collector' });
    a.tell('troupe://w-b/user/echo', 'told', { sender: collector });
    expect(await a.ask('troupe://w-b/user/echo', { x: 1 })).toEqual({ node: 'w-b', echo: { x: 1 } });
    // remote errors come back coded
    await expect(a.ask('troupe://w-b/user/nobody', 1)).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_NOT_FOUND' });
    // death watch: stop
    const stopped: string[] = [];
    a.watch('troupe://w-b/user/stoppable', (s) => stopped.push(s.reason));
    await until(async () => (await a.ask('troupe://w-b/user/stoppable', 'ping')) === 'alive', 2_000);
    a.tell('troupe://w-b/user/stoppable', { type: 'stop' });
    await until(() => stopped.length === 1, 15_000, 'Terminated for a remote stop');
    expect(stopped).toEqual(['stopped']);
    // death watch: node down, and a pending ask failing fast
    const downs: string[] = [];
    a.watch('troupe://w-b/user/echo', (s) => downs.push(s.reason));
    const pending = a.ask('troupe://w-b/user/mute', 'never answered', { timeoutMs: 20_000 });
    await b.kill();
    // NODE_DOWN, not ASK_TIMEOUT: it failed when the node went down, not at its deadline
    await expect(pending).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' });
    await until(() => downs.length === 1, 15_000, 'Terminated for node down');
    expect(downs).toEqual(['node-down']);
    await expect(a.ask('troupe://w-b/user/echo', 'x', { timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' });
    expect(replies).toEqual([{ node: 'w-b', echo: 'told' }]);
  });

  it('unwatching a remote actor removes the watch on both nodes; a watcher that stops unwatches too', async () => {
    const a = await localNode('u-a', []);
    const b = await localNode('u-b', [a.peer!.url]);
    await until(() => statusOf(a.clusterInfo(), 'u-b') === 'up' && statusOf(b.clusterInfo(), 'u-a') === 'up', 30_000, 'u-a and u-b up');
    b.spawn(() => undefined, { name: 'target' });
    const fired: string[] = [];
    const unwatch = a.watch('troupe://u-b/user/target', (s) => fired.push(s.reason));
    await until(() => b.cluster!.stats().servedWatches === 1, 15_000, 'watch served on u-b');
    unwatch();
    await until(() => b.cluster!.stats().servedWatches === 0, 15_000, 'watch removed on u-b');
    expect(a.cluster!.stats().remoteWatches).toBe(0);
    // an actor watching a remote actor unwatches when it stops
    const watcher = a.spawn<null, never>({ initial: (ctx) => { ctx.watch('troupe://u-b/user/target'); return null; }, receive: () => undefined }, { name: 'watcher' });
    await until(() => b.cluster!.stats().servedWatches === 1, 15_000, 'actor watch served on u-b');
    await a.stop(watcher);
    await until(() => b.cluster!.stats().servedWatches === 0, 15_000, 'actor watch removed on u-b');
    // A watch placed after the unwatch: u-b notifies its watchers of one stop together, in
    // the order they were placed, so once this one fires the removed one would have too.
    const control: string[] = [];
    a.watch('troupe://u-b/user/target', (s) => control.push(s.reason));
    await until(() => b.cluster!.stats().servedWatches === 1, 15_000, 'control watch served on u-b');
    await b.stop('user/target');
    await until(() => control.length === 1, 15_000, 'the control watch fired');
    expect(fired).toEqual([]);
  });

  it('a message that cannot make a valid envelope is refused to its sender; the link and the rest of the batch live on', async () => {
    const a = await localNode('v-a', []);
    const b = await localNode('v-b', [a.peer!.url]);
    await until(() => statusOf(a.clusterInfo(), 'v-b') === 'up', 30_000, 'v-b up');
    const got: unknown[] = [];
    b.spawn<null, unknown>((_s, m) => { got.push(m); }, { name: 'sink' });
    const linksBefore = a.cluster!.transport.links().filter((l) => l.active).length;
    a.tell('troupe://v-b/user/sink', { type: 'ok', n: 1 });
    // an envelope's correlation id is at most 256 characters: these cannot cross
    const long = { correlationId: 'c'.repeat(300) };
    expect(() => a.tell('troupe://v-b/user/sink', { type: 'bad' }, long)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_PROTOCOL_INVALID' }));
    await expect(a.ask('troupe://v-b/user/sink', { type: 'bad' }, long)).rejects.toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_INVALID' });
    // a message whose own `type` is too long for an envelope's still crosses (typed as an object)
    a.tell('troupe://v-b/user/sink', { type: 'x'.repeat(300) });
    // nor can a message pass for a control envelope (replies, watches) by its type
    a.tell('troupe://v-b/user/sink', { type: 'troupe.reply', n: 3 });
    a.tell('troupe://v-b/user/sink', { type: 'troupe.watch', watchId: 'w' });
    a.tell('troupe://v-b/user/sink', { type: 'ok', n: 2 });
    await until(() => got.length === 5, 15_000, 'the valid messages delivered');
    expect(got).toEqual([{ type: 'ok', n: 1 }, { type: 'x'.repeat(300) }, { type: 'troupe.reply', n: 3 }, { type: 'troupe.watch', watchId: 'w' }, { type: 'ok', n: 2 }]);
    expect(b.cluster!.stats().servedWatches).toBe(0);
    // larger than a frame: the ask fails with the coded error, the tell is dead-lettered, the link stays
    const huge = { type: 'huge', s: 'y'.repeat(5 * 1024 * 1024) };
    await expect(a.ask('troupe://v-b/user/sink', huge)).rejects.toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE' });
    a.tell('troupe://v-b/user/sink', huge);
    a.tell('troupe://v-b/user/sink', { type: 'ok', n: 3 });
    await until(() => got.length === 6, 15_000, 'the message after the huge one');
    expect(got.at(-1)).toEqual({ type: 'ok', n: 3 });
    await until(() => a.deadLetters.list({ reason: 'invalid' }).length === 4, 15_000, 'the huge ones dead-lettered');
    // what msgpack cannot encode (a BigInt past 64 bits, a circular object): refused the same way
    const circular: Record<string, unknown> = { type: 'loop' };
    circular.self = circular;
    await expect(a.ask('troupe://v-b/user/sink', { type: 'big', n: 10n ** 30n })).rejects.toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_INVALID' });
    a.tell('troupe://v-b/user/sink', circular);
    a.tell('troupe://v-b/user/sink', { type: 'ok', n: 4 });
    await until(() => got.length === 7, 15_000, 'the message after the unencodable ones');
    expect(got.at(-1)).toEqual({ type: 'ok', n: 4 });
    await until(() => a.deadLetters.list({ reason: 'invalid' }).length === 6, 15_000, 'the unencodable ones dead-lettered');
    expect(a.deadLetters.list({ reason: 'invalid' }).at(-1)!.envelope.payload).toMatchObject({ unencodable: expect.any(String) });
    expect(a.cluster!.transport.links().filter((l) => l.active).length).toBe(linksBefore);
    expect(a.deadLetters.list({ reason: 'invalid' }).map((d) => d.envelope.to)).toEqual(Array(6).fill('troupe://v-b/user/sink'));
  });

  it('an answer counts only from the node that was asked: another peer cannot settle the ask', async () => {
    const a = await localNode('f-a', []);
    const b = await localNode('f-b', [a.peer!.url]);
    await until(() => statusOf(a.clusterInfo(), 'f-b') === 'up', 30_000, 'f-b up');
    // f-b answers only when the test says so
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    b.spawn<null, string>(async (_s, _m, ctx) => { await gate; ctx.reply('genuine'); }, { name: 'held' });
    const probes: string[] = [];
    a.spawn<null, string>((_s, m) => { probes.push(m); }, { name: 'probe' });
    let outcome: { value?: unknown; error?: unknown } | undefined;
    const pending = a.ask('troupe://f-b/user/held', 'hello?', { timeoutMs: 60_000 });
    pending.then((value) => { outcome = { value }; }, (error: unknown) => { outcome = { error }; });
    // a third peer that knows (or guesses) the reply address answers in f-b's place
    const x = await rawHandshake(a.peer!.url, { nodeId: 'f-x' });
    await until(() => statusOf(a.clusterInfo(), 'f-x') === 'up', 15_000, 'f-x up');
    const { tempPrefix: prefix, pending: asks } = a.cluster as unknown as { tempPrefix: string; pending: Map<number, unknown> };
    // the forgeries below do name the waiting ask's reply address
    expect([...asks.keys()]).toEqual([expect.any(Number)]);
    expect([...asks.keys()][0]).toBeLessThanOrEqual(20);
    const forged = Array.from({ length: 20 }, (_, i) => ({ id: `forged-${i}`, to: `${prefix}${i + 1}`, type: 'troupe.reply', createdAt: 0, payload: 'forged' }));
    // ...and, behind the forgeries in the same frame, a message to an actor of f-a: f-a reads
    // a frame in order, so once the probe is here every forged reply has been dealt with.
    const probe = { id: 'probe-1', to: 'troupe://f-a/user/probe', type: 'test', createdAt: 0, payload: 'after the forgeries', from: 'troupe://f-x/user/me' };
    x.send(encode({ t: 'batch', envs: [...forged, probe] }));
    await until(() => probes.length === 1, 30_000, 'the probe behind the forged replies');
    expect(outcome).toBeUndefined();
    // the node that was asked answers, and that answer settles the ask
    release();
    expect(await pending).toBe('genuine');
    x.ws.terminate();
  });

  it('finds a named actor anywhere in the cluster', async () => {
    const a = await localNode('r-a', []);
    const b = await fixture('r-b', dir(), [a.peer!.url]);
    await until(() => statusOf(a.clusterInfo(), 'r-b') === 'up', 30_000, 'r-b up');
    const ref = await a.locate('sink');
    expect(ref?.address).toBe('troupe://r-b/user/sink');
    expect(await a.locate('no-such-actor')).toBeUndefined();
    await b.stop();
  });

  it('rejects a peer with the wrong secret', async () => {
    const a = await localNode('s-a', [], 'right-secret');
    const b = await fixture('s-b', dir(), [a.peer!.url], 0, 'wrong-secret');
    await until(() => (a.cluster!.transport.stats().rejectedLinks ?? 0) > 0, 15_000, 'a rejected link');
    expect(a.clusterInfo().members.map((m) => m.node)).toEqual(['s-a']);
    await b.stop();
  });
});
