import { afterEach, describe, expect, it } from 'vitest';
import { decode, encode } from '../../protocol/index.js';
import { startNode, type RunningNode } from '../../index.js';
import { silent, until } from '../helpers.js';
import { rawHandshake, type RawClient } from '../transport/helpers.js';

const HB = 150;
const nodes: RunningNode[] = [];
const raws: Array<{ client: RawClient; timer: NodeJS.Timeout }> = [];
afterEach(async () => {
  for (const r of raws.splice(0)) {
    clearInterval(r.timer);
    r.client.ws.terminate();
  }
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function node(id: string, seeds: string[] = []): Promise<RunningNode> {
  // A lookup that waits for every member would wait this long on the silent one.
  const n = await startNode({ id, logger: silent, http: false, cluster: { port: 0, seeds, heartbeatMs: HB, lookupTimeoutMs: 30_000 } });
  nodes.push(n);
  return n;
}

const up = (n: RunningNode, id: string) => n.clusterInfo().members.some((m) => m.node === id && m.status === 'up');

/** A member that completes the handshake and keeps its heartbeats going, but never answers anything. */
async function silentMember(n: RunningNode, id: string): Promise<void> {
  const client = await rawHandshake(n.peer!.url, { nodeId: id });
  const timer = setInterval(() => client.ws.send(encode({ t: 'hb' })), HB / 3);
  raws.push({ client, timer });
  await until(() => up(n, id), 15_000, `${id} up`);
}

describe('locating remote actors', () => {
  it('answers on the first yes while a silent member has not answered, then from the cache', async () => {
    const a = await node('l-a');
    const b = await node('l-b', [a.peer!.url]);
    await until(() => up(a, 'l-b'), 15_000, 'l-b up');
    await silentMember(a, 'l-mute');
    b.spawn(() => undefined, { name: 'target' });

    const ref = await a.locate('target');
    expect(ref?.address).toBe('troupe://l-b/user/target');
    // the lookup to the silent member is still waiting: nobody waited for it
    expect(a.cluster!.stats()).toMatchObject({ pendingAsks: 1, locations: 1, lookups: 2 });

    const again = await a.locate('target');
    expect(again?.address).toBe('troupe://l-b/user/target');
    expect(a.cluster!.stats().lookups).toBe(2); // no member was asked again
  });

  it('forgets a location when its actor stops, and finds it where it lives next', async () => {
    const a = await node('s-a');
    const b = await node('s-b', [a.peer!.url]);
    const c = await node('s-c', [a.peer!.url]);
    await until(() => up(a, 's-b') && up(a, 's-c') && up(b, 's-c'), 15_000, 'mesh up');
    b.spawn(() => undefined, { name: 'mover' });
    expect((await a.locate('mover'))?.address).toBe('troupe://s-b/user/mover');
    await until(() => b.cluster!.stats().servedWatches === 1, 15_000, 'the cache watches the actor');

    await b.stop('user/mover');
    await until(() => a.cluster!.stats().locations === 0, 15_000, 'location forgotten on the death notice');
    c.spawn(() => undefined, { name: 'mover' });
    expect((await a.locate('mover'))?.address).toBe('troupe://s-c/user/mover');
  });

  it('forgets the locations of a member that goes down', async () => {
    const a = await node('d-a');
    const b = await node('d-b', [a.peer!.url]);
    await until(() => up(a, 'd-b'), 15_000, 'd-b up');
    b.spawn(() => undefined, { name: 'target' });
    expect((await a.locate('target'))?.address).toBe('troupe://d-b/user/target');
    expect(a.cluster!.stats().locations).toBe(1);

    await b.close();
    nodes.splice(nodes.indexOf(b), 1);
    await until(() => a.clusterInfo().members.some((m) => m.node === 'd-b' && m.status === 'down'), 15_000, 'd-b down');
    expect(a.cluster!.stats().locations).toBe(0);
    expect(await a.locate('target')).toBeUndefined();
  });

  it('ignores an answer that names an actor on another node than the one that answered', async () => {
    const a = await node('x-a');
    const b = await node('x-b', [a.peer!.url]);
    await until(() => up(a, 'x-b'), 15_000, 'x-b up');
    b.spawn(() => undefined, { name: 'target' });
    // a lying member answers every lookup with an address on x-b
    const liar = await rawHandshake(a.peer!.url, { nodeId: 'x-liar' });
    const timer = setInterval(() => liar.ws.send(encode({ t: 'hb' })), HB / 3);
    raws.push({ client: liar, timer });
    liar.ws.on('message', (data) => {
      const f = decode(data as Buffer) as { t: string; envs?: Array<{ type: string; replyTo?: string }> };
      for (const env of f.envs ?? []) {
        if (env.type === 'troupe.lookup' && env.replyTo) {
          liar.ws.send(encode({ t: 'batch', envs: [{ id: `lie-${Math.random()}`, to: env.replyTo, type: 'troupe.reply', createdAt: 0, payload: 'troupe://x-b/user/elsewhere' }] }));
        }
      }
    });
    await until(() => up(a, 'x-liar'), 15_000, 'x-liar up');
    expect((await a.locate('target'))?.address).toBe('troupe://x-b/user/target');
    expect((await a.locate('nothing-here'))).toBeUndefined();
  });
});


describe('a member speaks for its own actors only', () => {
  it('an envelope naming a sender on another node is refused (dead letter, invalid), one from its own actor is delivered', async () => {
    const a = await node('p-a');
    const b = await node('p-b', [a.peer!.url]);
    await until(() => up(a, 'p-b'), 15_000, 'p-b up');
    const client = await rawHandshake(a.peer!.url, { nodeId: 'p-evil' });
    const timer = setInterval(() => client.ws.send(encode({ t: 'hb' })), HB / 3);
    raws.push({ client, timer });
    await until(() => up(a, 'p-evil'), 15_000, 'p-evil up');
    const got: Array<{ text: string; sender: string | undefined }> = [];
    a.spawn<null, { text: string }>((_s, m, ctx) => { got.push({ text: m.text, sender: ctx.sender?.address }); }, { name: 'inbox' });
    const env = (id: string, from: string, text: string) => ({ id, to: 'troupe://p-a/user/inbox', type: 'test', createdAt: 0, payload: { text }, from });
    client.ws.send(encode({ t: 'batch', envs: [env('forged-1', 'troupe://p-b/user/agents/x/agent', 'forged'), env('own-1', 'troupe://p-evil/user/me', 'own')] }));
    await until(() => got.some((g) => g.text === 'own'), 15_000, 'the own-sender envelope delivered');
    // the forged one came first on the same link: had it been delivered, it would be here first
    expect(got).toEqual([{ text: 'own', sender: 'troupe://p-evil/user/me' }]);
    expect(a.deadLetters.list({}).map((d) => ({ id: d.envelope.id, reason: d.reason }))).toContainEqual({ id: 'forged-1', reason: 'invalid' });
    void b;
  });
});
