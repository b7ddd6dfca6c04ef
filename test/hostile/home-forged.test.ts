import { afterEach, describe, expect, it } from 'vitest';
import { SendMessageRequest } from '@a2a-js/sdk';
import { until } from '../helpers.js';
import { a2aNode, closeNodes, sendParams, userMessage } from '../a2a/harness.js';

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
