import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startTroupe, type TroupeProcess } from '../process.js';
import { sendParams, userMessage, v1Client } from '../a2a/harness.js';
import { Receiver, stateOf } from './receiver.js';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import { lastUser } from '../agent/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function troupe(data: string, config: string, upstream = ''): Promise<TroupeProcess> {
  // the built-in offline model unless an upstream is given
  const p = await startTroupe(['--config', config, '--http-port', '0', '--peer-port', '0', '--data', data, '--node', 'push-k9'], {
    OPENAI_BASE_URL: upstream, OPENAI_API_KEY: upstream ? 'sk-fake' : '', TROUPE_MODEL: upstream ? 'gpt-fake' : '', TROUPE_LOG_LEVEL: 'warn',
  });
  cleanups.push(() => p.kill().catch(() => undefined));
  return p;
}

describe('A2A push notifications and kill -9 of a real node process', () => {
  it('notifications the killed node had not delivered are delivered, in order, by the restarted one', async () => {
    const r = await Receiver.start();
    cleanups.push(() => r.close());
    r.fallback = 503;
    const { dir, cleanup } = tempDir('troupe-push-k9-');
    cleanups.push(cleanup);
    const config = join(dir, 'troupe.config.json');
    const write = (initialBackoffMs: number): void => writeFileSync(config, JSON.stringify({
      agents: [{ name: 'worker', description: 'works' }],
      a2a: { push: { allowHosts: ['127.0.0.1'], initialBackoffMs, maxBackoffMs: Math.max(initialBackoffMs, 1_000) } },
    }));
    // the first run tries the first notification once and then waits ten minutes
    write(600_000);
    const data = join(dir, 'data');
    const first = await troupe(data, config);
    const client = await v1Client(first.ready.http, 'worker');
    const task = await client.sendMessage(sendParams(userMessage('tell me later'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false,
      taskPushNotificationConfig: { tenant: '', id: 'k9', taskId: '', url: r.url, token: 'k9-token', authentication: undefined },
    })) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    await until(() => r.got.length >= 1, 30_000, 'first attempt');
    const firstId = r.got[0]!.headers['x-troupe-notification-id'];
    await first.kill();

    r.fallback = 200;
    write(10);
    await troupe(data, config);
    await until(() => r.delivered().some((b) => stateOf(b) === 'TASK_STATE_COMPLETED'), 60_000, 'delivered after the restart');
    const delivered = r.got.filter((g) => g.status === 200);
    expect(delivered[0]!.headers['x-troupe-notification-id']).toBe(firstId);
    expect(delivered.every((g) => g.headers['x-a2a-notification-token'] === 'k9-token')).toBe(true);
    expect(r.delivered().map(stateOf).filter(Boolean)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    expect(r.delivered()[0].task.id).toBe(task.id);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('a task that was working when the node was killed is failed on restart, and its receiver is told', async () => {
    const r = await Receiver.start();
    cleanups.push(() => r.close());
    const fake = await startFakeOpenAI((call) => (lastUser(call.body).startsWith('slow') ? { kind: 'hang' } : { kind: 'text', text: 'ok' }));
    cleanups.push(() => fake.close());
    const { dir, cleanup } = tempDir('troupe-push-k9b-');
    cleanups.push(cleanup);
    const config = join(dir, 'troupe.config.json');
    writeFileSync(config, JSON.stringify({ agents: [{ name: 'worker' }], a2a: { push: { allowHosts: ['127.0.0.1'], initialBackoffMs: 10, maxBackoffMs: 100 } } }));
    const data = join(dir, 'data');
    const first = await troupe(data, config, fake.url);
    const task = await (await v1Client(first.ready.http, 'worker')).sendMessage(sendParams(userMessage('slow work'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: true,
      taskPushNotificationConfig: { tenant: '', id: '', taskId: '', url: r.url, token: '', authentication: undefined },
    })) as Task;
    await fake.waitForCall(0);
    await until(() => r.delivered().some((b) => stateOf(b) === 'TASK_STATE_WORKING'), 30_000, 'working notified');
    await first.kill();
    await troupe(data, config, fake.url);
    await until(() => r.delivered().some((b) => stateOf(b) === 'TASK_STATE_FAILED'), 60_000, 'failed notified after the restart');
    const failed = r.delivered().find((b) => stateOf(b) === 'TASK_STATE_FAILED');
    expect(failed.statusUpdate).toMatchObject({ taskId: task.id, metadata: { code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' } });
  }, PROCESS_TEST_TIMEOUT_MS);
});
