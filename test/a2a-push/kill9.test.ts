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
  it('undelivered notifications are delivered in order by the restarted node; a task working at the kill is notified as failed', async () => {
    const r = await Receiver.start();
    cleanups.push(() => r.close());
    r.fallback = 503;
    const fake = await startFakeOpenAI((call) => (lastUser(call.body).startsWith('slow') ? { kind: 'hang' } : { kind: 'text', text: `done:${lastUser(call.body)}` }));
    cleanups.push(() => fake.close());
    const { dir, cleanup } = tempDir('troupe-push-k9-');
    cleanups.push(cleanup);
    const config = join(dir, 'troupe.config.json');
    const write = (initialBackoffMs: number): void => writeFileSync(config, JSON.stringify({
      agents: [{ name: 'worker', description: 'works' }],
      a2a: { push: { allowHosts: ['127.0.0.1'], initialBackoffMs, maxBackoffMs: Math.max(initialBackoffMs, 1_000) } },
    }));
    const push = (id: string) => ({ tenant: '', id, taskId: '', url: `${r.url}/${id}`, token: `${id}-token`, authentication: undefined });
    // the first run tries the first notification of each task once, then waits ten minutes
    write(600_000);
    const data = join(dir, 'data');
    const first = await troupe(data, config, fake.url);
    const client = await v1Client(first.ready.http, 'worker');
    const done = await client.sendMessage(sendParams(userMessage('tell me later'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false, taskPushNotificationConfig: push('done'),
    })) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const slow = await client.sendMessage(sendParams(userMessage('slow work'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: true, taskPushNotificationConfig: push('slow'),
    })) as Task;
    await fake.waitForCall(1, 30_000);
    await until(() => r.got.some((g) => g.path === '/hook/done') && r.got.some((g) => g.path === '/hook/slow'), 30_000, 'first attempts');
    const firstId = r.got.find((g) => g.path === '/hook/done')!.headers['x-troupe-notification-id'];
    await first.kill();
    // the model calls the first process made (its upstream policy may retry the hanging one on a slow machine)
    const before = fake.calls.map((c) => lastUser(c.body));
    expect(before.slice(0, 2)).toEqual(['tell me later', 'slow work']);
    expect(new Set(before)).toEqual(new Set(['tell me later', 'slow work']));

    r.fallback = 200;
    write(10);
    await troupe(data, config, fake.url);
    const delivered = (path: string) => r.got.filter((g) => g.path === path && g.status === 200);
    await until(() => delivered('/hook/done').some((g) => stateOf(g.json) === 'TASK_STATE_COMPLETED'), 60_000, 'done delivered after the restart');
    expect(delivered('/hook/done')[0]!.headers['x-troupe-notification-id']).toBe(firstId);
    expect(delivered('/hook/done').every((g) => g.headers['x-a2a-notification-token'] === 'done-token')).toBe(true);
    expect(delivered('/hook/done').map((g) => stateOf(g.json)).filter(Boolean)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    expect(delivered('/hook/done')[0]!.json.task.id).toBe(done.id);
    // the task working at the kill: failed on start, and its receiver told so, after what came before
    await until(() => delivered('/hook/slow').some((g) => stateOf(g.json) === 'TASK_STATE_FAILED'), 60_000, 'failed notified after the restart');
    const states = delivered('/hook/slow').map((g) => stateOf(g.json)).filter(Boolean);
    expect(states.at(-1)).toBe('TASK_STATE_FAILED');
    expect(states.slice(0, 2)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING']);
    expect(delivered('/hook/slow').at(-1)!.json.statusUpdate).toMatchObject({ taskId: slow.id, metadata: { code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' } });
    // nothing ran again after the restart: not the completed task, nor the one failed as interrupted
    expect(fake.calls.map((c) => lastUser(c.body))).toEqual(before);
  }, PROCESS_TEST_TIMEOUT_MS);
});
