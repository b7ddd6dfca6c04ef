import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SendMessageRequest } from '@a2a-js/sdk';
import { startNode, type RunningNode } from '../../index.js';
import { HOME_PATH, STREAMS_PATH } from '../../actors/a2a/home/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startTroupe, type TroupeProcess } from '../process.js';
import { sendParams, userMessage } from '../a2a/harness.js';

// The forwarding node is this process (it asks the home actor with call ids of its choosing,
// as its forwarder does); the agent's node is a real `troupe start` process, killed with -9
// and started again on the same data dir. The upstream model is a real HTTP server.
const cleanups: Array<() => unknown> = [];
const procs: TroupeProcess[] = [];
let front: RunningNode | undefined;
let fake: FakeOpenAI | undefined;
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await front?.close();
  await fake?.close();
  cleanups.forEach((c) => c());
});

const userOf = (body: any): string => [...(body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')?.content ?? '';
const caller = { user: { name: '', authenticated: false } };
const HOME = 'rr-home';
const home = `troupe://${HOME}/${HOME_PATH}`;

describe('a call forwarded to the agent\'s node, repeated across a kill -9 and restart of that node', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('is not run again: a finished send gets its identical answer, a send cut mid-run gets its task as recovery left it, a stream start is refused; the model was called once for each', async () => {
    fake = await startFakeOpenAI((call) => (userOf(call.body).startsWith('slow') ? { kind: 'hang' } : { kind: 'text', text: `done:${userOf(call.body)}` }));
    const count = (text: string): number => fake!.calls.filter((c) => userOf(c.body) === text).length;
    const d1 = tempDir('troupe-rr1-');
    const d2 = tempDir('troupe-rr2-');
    cleanups.push(d1.cleanup, d2.cleanup);
    front = await startNode({ id: 'rr-front', dataDir: d1.dir, logger: silent, http: false, cluster: { port: 0, heartbeatMs: 150 }, model: { provider: 'offline' } });
    const config = join(d2.dir, 'troupe.config.json');
    writeFileSync(config, JSON.stringify({ agents: [{ name: 'worker', instructions: 'work' }] }));
    const start = async (peerPort: string): Promise<TroupeProcess> => {
      const p = await startTroupe(['--node', HOME, '--config', config, '--http-port', '0', '--peer-port', peerPort, '--data', join(d2.dir, 'data'), '--peers', front!.peer!.url, '--heartbeat-ms', '150'], {
        OPENAI_BASE_URL: fake!.url, OPENAI_API_KEY: 'sk-fake', TROUPE_MODEL: 'gpt-fake', TROUPE_LOG_LEVEL: 'warn',
      });
      procs.push(p);
      return p;
    };
    const first = await start('0');
    await until(() => front!.peers().includes(HOME), 30_000, 'the home node up');

    // as the forwarder does: an attempt the link fails (a busy machine can make the failure
    // detector mark the home down for a moment) is asked again, the same frame
    const ask = async (frame: unknown): Promise<any> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await front!.ask(home, frame, { timeoutMs: 60_000 });
        } catch (e) {
          if (attempt >= 5 || (e as { code?: string }).code !== 'TROUPE_ERR_TRANSPORT_NODE_DOWN') throw e;
          await until(() => front!.peers().includes(HOME), 30_000, 'the home node back');
        }
      }
    };
    const send = (callId: string, text: string): Promise<any> => ask({
      type: 'a2a.home.call', agent: 'worker', method: 'sendMessage', params: SendMessageRequest.toJSON(sendParams(userMessage(text))), caller, callId, retryForMs: 600_000,
    });
    const quick = await send('call-quick', 'quick');
    expect(quick).toMatchObject({ ok: true, result: { task: { status: { state: 'TASK_STATE_COMPLETED' } } } });
    expect(count('quick')).toBe(1);
    // repeated while the home runs: the same answer (from its record), no second run
    expect(await send('call-quick', 'quick')).toEqual(quick);
    expect(count('quick')).toBe(1);

    // a blocking send working at the model, and a stream's start, when the home is killed
    const params = SendMessageRequest.toJSON(sendParams(userMessage('slow send'))) as { message: { messageId: string } };
    const slowFrame = { type: 'a2a.home.call', agent: 'worker', method: 'sendMessage', params, caller, callId: 'call-slow', retryForMs: 600_000 };
    void front.ask(home, slowFrame, { timeoutMs: 60_000 }).catch(() => undefined);
    const streamFrame = {
      type: 'a2a.home.stream', agent: 'worker', method: 'sendMessageStream', params: SendMessageRequest.toJSON(sendParams(userMessage('slow stream'))), caller,
      streamId: 'stream-slow', replyTo: `troupe://rr-front/${STREAMS_PATH}`, retryForMs: 600_000,
    };
    expect(await ask(streamFrame)).toEqual({ ok: true, result: null });
    // (a recorded call's task is written before its agent runs: once the model is called, the task is on disk)
    await until(() => count('slow send') === 1 && count('slow stream') === 1, 30_000, 'both runs reached the model');
    await first.kill();
    await until(() => !front!.peers().includes(HOME), 30_000, 'the home node down');
    const second = await start(new URL(first.ready.peer!).port);
    await until(() => front!.peers().includes(HOME), 30_000, 'the home node up again');
    await until(async () => (await fetch(`${second.ready.http}/a2a/worker/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).status === 200, 30_000, 'worker running again');

    // the finished send: the identical answer, from the record
    expect(await send('call-quick', 'quick')).toEqual(quick);
    // the one cut mid-run: its task, failed by recovery, not a second run
    const slow = await ask(slowFrame);
    expect(slow).toMatchObject({ ok: true, result: { task: { status: { state: 'TASK_STATE_FAILED', message: { metadata: { code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' } } } } } });
    expect(slow.result.task.history[0].messageId).toBe(params.message.messageId);
    // the stream's events went with the node: refused, not started again
    expect(await ask(streamFrame)).toMatchObject({ ok: false, error: { code: 'TROUPE_ERR_A2A_HOME_UNREACHABLE' } });
    // a repeat of a repeat: the same again
    expect(await ask(slowFrame)).toEqual(slow);
    expect(count('quick')).toBe(1);
    expect(count('slow send')).toBe(1);
    expect(count('slow stream')).toBe(1);
    // and a new call runs
    expect(await send('call-fresh', 'fresh')).toMatchObject({ ok: true, result: { task: { status: { state: 'TASK_STATE_COMPLETED' } } } });
    expect(count('fresh')).toBe(1);
  });
});
