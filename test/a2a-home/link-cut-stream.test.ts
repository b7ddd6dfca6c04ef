import { afterEach, describe, expect, it } from 'vitest';
import { SendMessageRequest } from '@a2a-js/sdk';
import { driveUntil } from '../transport/clocked.js';
import { until } from '../helpers.js';
import { sendParams, userMessage } from '../a2a/harness.js';
import { HB, closeCut, cluster, follow, tick } from './cut-harness.js';

afterEach(closeCut);

describe("a stream's start asked again after a link cut", () => {
  it('starts nothing twice: a repeat while the stream still reaches its asker is answered as the first; once its events went into the cut it is refused, coded', async () => {
    const { a, clock, both, model, gate, cut } = await cluster();
    const release = gate();
    const start = {
      type: 'a2a.home.stream', agent: 'far', method: 'sendMessageStream', params: SendMessageRequest.toJSON(sendParams(userMessage('stream me'))),
      caller: { user: { name: '', authenticated: false } }, streamId: 'stream-1', replyTo: 'troupe://cut-a/system/a2a-streams', retryForMs: 600_000,
    };
    const home = 'troupe://cut-b/system/a2a-tasks';
    expect(await a.ask(home, start, { timeoutMs: 30_000 })).toEqual({ ok: true, result: null });
    await until(() => model.calls === 1, 15_000, 'the run reached the model on B');
    // the asker did not hear the answer and asks again: the same answer, no second run
    expect(await a.ask(home, start, { timeoutMs: 30_000 })).toEqual({ ok: true, result: null });
    const heal = await cut();
    await heal();
    const again = follow(a.ask(home, start, { timeoutMs: 30_000 }));
    await driveUntil(clock, both, tick, () => again.done, 100 * HB, 'the repeat answered');
    expect(again.value).toMatchObject({ ok: false, error: { code: 'TROUPE_ERR_A2A_HOME_UNREACHABLE' } });
    release();
    expect(model.calls).toBe(1);
  }, 60_000);
});
