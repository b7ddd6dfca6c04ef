import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { A2A_ENDPOINT_PATH, type A2AApi } from '../../actors/index.js';
import { startNode, type RunningNode } from '../../index.js';
import { until } from '../helpers.js';
import { CountingModel } from '../a2a/harness.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

const base = (node: string) => ({ from: 'client', correlationId: 'corr-1', callChain: [] as string[], createdAt: 1, replyTo: `troupe://${node}/system/a2a-messages` });

/** Forged A2A actor messages, as a hostile peer sends them to a node's endpoint. */
describe('hostile: the A2A endpoint keeps bounded state per message and per shared context', () => {
  it('a CONTEXT_SHARE over 256 KiB of JSON is refused with a coded ack, nothing kept; a small one is kept', async () => {
    const node = await startNode({ id: 'hostile-cs', logger: pino({ level: 'silent' }), http: false, agents: [{ name: 'desk', instructions: 'd' }] });
    nodes.push(node);
    const inbox = node.module<A2AApi>('a2a').delegation.inbox;
    const big = { blob: 'x'.repeat(300 * 1024) };
    const ack = await node.ask(A2A_ENDPOINT_PATH, { ...base('hostile-cs'), type: 'a2a.context_share', id: 'big-1', to: 'desk', payload: { context: big } });
    expect(ack).toMatchObject({ accepted: false, keys: [], error: { code: 'TROUPE_ERR_A2A_CONTEXT_TOO_LARGE' } });
    expect(inbox.sharedContext('desk', 'corr-1')).toBeUndefined();
    const ok = await node.ask(A2A_ENDPOINT_PATH, { ...base('hostile-cs'), type: 'a2a.context_share', id: 'small-1', to: 'desk', payload: { context: { note: 'fine' } } });
    expect(ok).toMatchObject({ accepted: true, keys: ['note'] });
    expect(inbox.sharedContext('desk', 'corr-1')).toEqual({ note: 'fine' });
  });

  it('repeats of a running EXECUTE from ever new replyTo addresses do not grow its list of waiting senders without bound', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await startNode({ id: 'hostile-wait', logger: pino({ level: 'silent' }), http: false, modelProvider: model, agents: [{ name: 'slow', instructions: 's' }] });
    nodes.push(node);
    const exec = { ...base('hostile-wait'), type: 'a2a.execute', id: 'exec-1', to: 'slow', payload: { input: 'hold' } };
    expect(await node.ask(A2A_ENDPOINT_PATH, exec)).toMatchObject({ accepted: true });
    await until(() => model.calls === 1, 10_000, 'the run reached the model');
    for (let i = 0; i < 300; i++) await node.ask(A2A_ENDPOINT_PATH, { ...exec, replyTo: `troupe://forged-${i}/system/a2a-messages` });
    const inbox = node.module<A2AApi>('a2a').delegation.inbox as unknown as { waiters: Map<string, Map<string, number>> };
    expect(inbox.waiters.get('exec-1')!.size).toBeLessThanOrEqual(64);
    release();
  }, 30_000);
});

describe('hostile: A2A requests whose replyTo names an actor of the peer\'s choice', () => {
  it('a peer\'s EXECUTE whose replyTo is not an A2A endpoint is refused (coded), not run, and nothing is told to that actor', async () => {
    const model = new CountingModel();
    const peer = await startNode({ id: 'hostile-peer2', logger: pino({ level: 'silent' }), http: false, cluster: { port: 0, heartbeatMs: 150 } });
    nodes.push(peer);
    const node = await startNode({
      id: 'hostile-target', logger: pino({ level: 'silent' }), http: false, modelProvider: model,
      agents: [{ name: 'worker', instructions: 'w' }], cluster: { port: 0, heartbeatMs: 150, seeds: [peer.peer!.url] },
    });
    nodes.push(node);
    await until(() => peer.peers().includes('hostile-target') && node.peers().includes('hostile-peer2'), 10_000, 'both nodes up');
    const seen: unknown[] = [];
    node.spawn((_s: unknown, m: unknown) => {
      seen.push(m);
    }, { name: 'victim' });
    const exec = { ...base('hostile-target'), type: 'a2a.execute', id: 'refl-1', to: 'worker', payload: { input: 'work' }, replyTo: 'troupe://hostile-target/user/victim' };
    const answer = await peer.ask(`troupe://hostile-target/${A2A_ENDPOINT_PATH}`, exec, { timeoutMs: 10_000 }).then((r) => ({ r }), (e: unknown) => ({ e }));
    expect(answer).toMatchObject({ e: { code: 'TROUPE_ERR_PROTOCOL_INVALID' } });
    // a proper request from the same peer runs and is answered at the peer's endpoint
    const ok = await peer.ask(`troupe://hostile-target/${A2A_ENDPOINT_PATH}`, { ...exec, id: 'fine-1', replyTo: `troupe://hostile-peer2/${A2A_ENDPOINT_PATH}` }, { timeoutMs: 10_000 });
    expect(ok).toMatchObject({ accepted: true });
    await until(() => model.calls === 1, 10_000, 'the proper request ran');
    expect(seen).toEqual([]);
  }, 30_000);
});

describe('hostile: A2A message ids that are Object.prototype members', () => {
  it('an EXECUTE with id "constructor" or "__proto__" runs once and is remembered like any other; a status query of an unknown one says unknown', async () => {
    const model = new CountingModel();
    const node = await startNode({ id: 'hostile-ids', logger: pino({ level: 'silent' }), http: false, modelProvider: model, agents: [{ name: 'worker', instructions: 'w' }] });
    nodes.push(node);
    const status = (messageId: string): Promise<any> => node.ask(A2A_ENDPOINT_PATH, { ...base('hostile-ids'), type: 'a2a.status_query', id: `q-${messageId}-${Math.random()}`, to: 'worker', payload: { messageId } });
    expect(await status('toString')).toMatchObject({ state: 'unknown' });
    for (const [i, id] of ['constructor', '__proto__'].entries()) {
      expect(await node.ask(A2A_ENDPOINT_PATH, { ...base('hostile-ids'), type: 'a2a.execute', id, to: 'worker', payload: { input: `job ${id}` } })).toMatchObject({ accepted: true });
      await until(() => model.calls === i + 1, 10_000, `the run of ${id}`);
      await until(async () => (await status(id)).state === 'completed', 10_000, `${id} completed`);
    }
    const inbox = node.module<A2AApi>('a2a').delegation.inbox;
    expect(inbox.size).toBe(2);
    // a repeat is answered from memory, not run again
    await node.ask(A2A_ENDPOINT_PATH, { ...base('hostile-ids'), type: 'a2a.execute', id: '__proto__', to: 'worker', payload: { input: 'again' } });
    expect(await status('__proto__')).toMatchObject({ state: 'completed', result: { content: 'done:job __proto__' } });
    expect(model.calls).toBe(2);
  }, 30_000);
});
