import { afterEach, describe, expect, it } from 'vitest';
import { SendMessageRequest } from '@a2a-js/sdk';
import { until } from '../helpers.js';
import { a2aNode, closeNodes, rpc, sendParams, userMessage } from '../a2a/harness.js';

afterEach(closeNodes);

/**
 * Forged home-actor messages, as a hostile peer would send them over the peer link: the
 * home actor streams a task's events only to a node's streams actor, never to an actor the
 * peer names (a reflection of events into any actor of the cluster).
 */
describe('hostile: the A2A home actor takes forged stream requests', () => {
  it('a stream whose replyTo is not a streams actor is refused (coded) and nothing is told to that actor', async () => {
    const peer = await a2aNode({ id: 'hostile-peer', cluster: { port: 0, heartbeatMs: 150 } });
    const node = await a2aNode({ id: 'hostile-home', cluster: { port: 0, heartbeatMs: 150, seeds: [peer.peer!.url] } });
    await until(() => peer.peers().includes('hostile-home') && node.peers().includes('hostile-peer'), 10_000, 'both nodes up');
    node.spawnAgent({ name: 'near', description: 'lives here' });
    const seen: unknown[] = [];
    node.spawn((_s: unknown, m: unknown) => {
      seen.push(m);
    }, { name: 'victim' });
    const forged = {
      type: 'a2a.home.stream', agent: 'near', method: 'sendMessageStream',
      params: SendMessageRequest.toJSON(sendParams(userMessage('hello'))), caller: { user: { name: '', authenticated: false } },
      streamId: 'forged-1', replyTo: 'troupe://hostile-home/user/victim',
    };
    const answer = await peer.ask('troupe://hostile-home/system/a2a-tasks', forged, { timeoutMs: 10_000 }).then((r) => ({ r }), (e: unknown) => ({ e }));
    expect(answer).toMatchObject({ e: { code: 'TROUPE_ERR_ACTOR_INVALID_MESSAGE' } });
    // a well-formed request still streams: to the node's own streams actor
    const ok = await peer.ask('troupe://hostile-home/system/a2a-tasks', { ...forged, streamId: 'fine-1', replyTo: 'troupe://hostile-peer/system/a2a-streams' }, { timeoutMs: 10_000 });
    expect(ok).toMatchObject({ ok: true });
    expect(seen).toEqual([]);
  }, 30_000);
});

describe('hostile: a careless client whose call crosses to the agent\'s node', () => {
  it('a tenant over the link\'s bound is the client\'s bad request (invalid params), not TROUPE_ERR_A2A_HOME_UNREACHABLE', async () => {
    const a = await a2aNode({ id: 'careless-a', cluster: { port: 0, heartbeatMs: 150 } });
    const b = await a2aNode({ id: 'careless-b', cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] } });
    await until(() => a.peers().includes('careless-b') && b.peers().includes('careless-a'), 10_000, 'both nodes up');
    b.spawnAgent({ name: 'far', description: 'lives on B' });
    await until(async () => (await fetch(`${a.http.url}/a2a/far/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).status === 200, 10_000, 'A knows of far');
    const params = { tenant: 't'.repeat(300), id: 'no-such-task' };
    const r = await rpc(`${a.http.url}/a2a/far`, { jsonrpc: '2.0', id: 1, method: 'GetTask', params }, { 'a2a-version': '1.0' });
    expect(r.json.error?.code).toBe(-32602);
    expect(String(r.json.error?.message)).not.toContain('TROUPE_ERR_A2A_HOME_UNREACHABLE');
    // within the bound the call goes to B as before (the task is not found there)
    const ok = await rpc(`${a.http.url}/a2a/far`, { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { ...params, tenant: 'acme' } }, { 'a2a-version': '1.0' });
    expect(ok.json.error?.code).toBe(-32001);
  }, 60_000);
});
