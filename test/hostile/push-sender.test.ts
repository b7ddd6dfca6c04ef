import { describe, expect, it } from 'vitest';
import { ServerCallContext, UnauthenticatedUser } from '@a2a-js/sdk/server';
import { ManualClock } from '../../index.js';
import { OutboxPushSender, PushConfigs, PushOutbox } from '../../actors/a2a/push/index.js';
import { silent } from '../helpers.js';

describe('hostile: a push config registered over a made-up protocol version', () => {
  it('a wire version named after an Object.prototype member is served as 1.0: the event is queued, not a TypeError', async () => {
    const configs = new PushConfigs(undefined, { maxConfigsPerTask: 10, allowHosts: ['hooks.example.com'], allowPrivate: false }, silent);
    const outbox = new PushOutbox(undefined, 1_000, silent);
    // the version a peer's forwarded call claims (the home link carries the caller's version as is)
    const ctx = new ServerCallContext({ user: new UnauthenticatedUser(), requestedVersion: 'constructor' });
    await configs.storeFor('echo').save('t1', ctx, { tenant: '', id: 'c1', taskId: 't1', url: 'https://hooks.example.com/a2a', token: '', authentication: undefined });
    let kicked = 0;
    const sender = new OutboxPushSender('echo', configs, outbox, { kick: () => { kicked++; } } as never, new ManualClock(), silent);
    await sender.send({ payload: { $case: 'statusUpdate', value: { taskId: 't1', contextId: 'c1', status: { state: 3, message: undefined, timestamp: undefined }, metadata: undefined } } } as never, ctx);
    expect(outbox.size).toBe(1);
    expect(kicked).toBe(1);
  });
});
