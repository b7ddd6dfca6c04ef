import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory as ClientFactory03 } from 'a2a-sdk-03/client';
import type { FakeOpenAI } from '../fixtures/fake-openai.js';
import { tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startTroupe, type TroupeProcess } from '../process.js';
import { answerOf, killTestUpstream, sendParams, userMessage, v1Client } from '../a2a/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


async function troupe(node: string, data: string, config: string, fake: FakeOpenAI, peers?: string): Promise<TroupeProcess> {
  const p = await startTroupe(['--node', node, '--config', config, '--http-port', '0', '--peer-port', '0', '--data', data, '--heartbeat-ms', '150', ...(peers ? ['--peers', peers] : [])], {
    OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake', TROUPE_MODEL: 'gpt-fake', TROUPE_LOG_LEVEL: 'warn',
  });
  cleanups.push(() => p.kill().catch(() => undefined));
  return p;
}

const cardOk = async (base: string, agent: string): Promise<boolean> =>
  (await fetch(`${base}/a2a/${agent}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } }).catch(() => undefined))?.status === 200;

describe('A2A tasks on their agent\'s node, with real node processes and kill -9', () => {
  it('node 1 serves an agent of node 2; kill -9 of node 2 ends the stream with a coded error, and after its restart the task is failed with a reason, through node 1', async () => {
    const fake = await killTestUpstream(cleanups);
    const { dir, cleanup } = tempDir('troupe-a2a-home-');
    cleanups.push(cleanup);
    const front = join(dir, 'front.json');
    const back = join(dir, 'back.json');
    writeFileSync(front, JSON.stringify({ agents: [] }));
    writeFileSync(back, JSON.stringify({ agents: [{ name: 'worker', description: 'works on node 2' }] }));

    const n1 = await troupe('home-n1', join(dir, 'n1'), front, fake);
    let n2 = await troupe('home-n2', join(dir, 'n2'), back, fake, n1.ready.peer);
    await until(() => cardOk(n1.ready.http, 'worker'), 30_000, 'node 1 knows of worker');
    const client = await v1Client(n1.ready.http, 'worker');

    const done = await client.sendMessage(sendParams(userMessage('quick'))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(done)).toBe('done:quick');
    // the 0.3 client through node 1 reads it back
    const old = await new ClientFactory03().createFromUrl(`${n1.ready.http}/a2a/worker/.well-known/agent-card.json`, '');
    expect(await old.getTask({ id: done.id })).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect(await old.sendMessage({ message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'old' }] } })).toMatchObject({ status: { state: 'completed' } });

    // a streamed task, working at the upstream, when node 2 is killed
    const stream = client.sendMessageStream(sendParams(userMessage('slow and steady')));
    const first = await stream.next();
    expect(first.value?.payload?.$case).toBe('task');
    const slowId = (first.value!.payload as { value: Task }).value.id;
    await fake.waitForCall(2);
    await n2.kill();
    let error: unknown;
    try {
      for (let r = await stream.next(); !r.done; r = await stream.next());
    } catch (e) {
      error = e;
    }
    expect(String((error as Error)?.message)).toContain('TROUPE_ERR_A2A_HOME_UNREACHABLE');
    // while node 2 is down its tasks are unreachable, not unknown
    await expect(client.getTask({ tenant: '', id: done.id, historyLength: undefined })).rejects.toThrow(/TROUPE_ERR_A2A_HOME_UNREACHABLE/);

    // node 2 comes back: the task it was running is failed with the reason, seen through node 1
    n2 = await troupe('home-n2', join(dir, 'n2'), back, fake, n1.ready.peer);
    await until(() => cardOk(n1.ready.http, 'worker'), 30_000, 'node 1 knows of worker again');
    const get = (id: string) => client.getTask({ tenant: '', id, historyLength: undefined });
    await until(async () => (await get(slowId).catch(() => undefined))?.status?.state === TaskState.TASK_STATE_FAILED, 30_000, 'the slow task is failed');
    const slow = await get(slowId);
    expect(slow.status?.message?.metadata).toMatchObject({ code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' });
    expect((await get(done.id)).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const base = { tenant: '', contextId: '', pageToken: '', statusTimestampAfter: undefined };
    expect((await client.listTasks({ ...base, status: TaskState.TASK_STATE_WORKING })).totalSize).toBe(0);
    // nothing ran again: quick, old, slow
    expect(fake.calls).toHaveLength(3);
    // and node 2 goes on serving through node 1
    expect(((await client.sendMessage(sendParams(userMessage('after')))) as Task).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  }, PROCESS_TEST_TIMEOUT_MS);
});
