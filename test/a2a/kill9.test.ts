import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import type { FakeOpenAI } from '../fixtures/fake-openai.js';
import { tempDir } from '../helpers.js';
import { startTroupe, type TroupeProcess } from '../process.js';
import { answerOf, killTestUpstream, sendParams, userMessage, v1Client } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


async function troupe(dir: string, config: string, fake: FakeOpenAI): Promise<TroupeProcess> {
  const p = await startTroupe(['--config', config, '--http-port', '0', '--peer-port', '0', '--data', dir, '--node', 'a2a-k9'], {
    OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake', TROUPE_MODEL: 'gpt-fake', TROUPE_LOG_LEVEL: 'warn',
  }, 60_000);
  cleanups.push(() => p.kill().catch(() => undefined));
  return p;
}

describe('A2A tasks and kill -9 of a real node process', () => {
  it('after kill -9 during a streamed task and an input-required wait, every task is in a truthful state and no finished step runs again', async () => {
    const fake = await killTestUpstream(cleanups);
    const { dir, cleanup } = tempDir('troupe-a2a-k9-');
    cleanups.push(cleanup);
    const config = join(dir, 'troupe.config.json');
    writeFileSync(config, JSON.stringify({ agents: [{ name: 'worker', description: 'works' }] }));
    const data = join(dir, 'data');

    const first = await troupe(data, config, fake);
    let client = await v1Client(first.ready.http, 'worker');
    const done = await client.sendMessage(sendParams(userMessage('quick'))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const waiting = await client.sendMessage(sendParams(userMessage('ask:which city?'))) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(fake.calls).toHaveLength(2);

    // a streamed task, working at the upstream when the node is killed
    const stream = client.sendMessageStream(sendParams(userMessage('slow and steady')));
    const firstEvent = await stream.next();
    expect(firstEvent.value?.payload?.$case).toBe('task');
    const slowId = (firstEvent.value!.payload as { value: Task }).value.id;
    await fake.waitForCall(2);
    await first.kill();
    await stream.next().catch(() => undefined);

    const second = await troupe(data, config, fake);
    client = await v1Client(second.ready.http, 'worker');
    const get = (id: string) => client.getTask({ tenant: '', id, historyLength: undefined });

    const slow = await get(slowId);
    expect(slow.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(slow.status?.message?.metadata).toMatchObject({ code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' });
    expect(second.lines.some((l) => l.includes('TROUPE_ERR_A2A_TASK_INTERRUPTED'))).toBe(true);

    const d = await get(done.id);
    expect(d.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(d)).toBe('done:quick');
    expect((await get(waiting.id)).status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const base = { tenant: '', contextId: '', pageToken: '', statusTimestampAfter: undefined };
    expect((await client.listTasks({ ...base, status: TaskState.TASK_STATE_WORKING })).totalSize).toBe(0);
    expect((await client.listTasks({ ...base, status: TaskState.TASK_STATE_SUBMITTED })).totalSize).toBe(0);
    // nothing ran again on restart: the upstream saw the same three calls
    expect(fake.calls).toHaveLength(3);

    // the waiting task is answered after the restart: one more upstream call, completed
    const resumed = await client.sendMessage(sendParams(userMessage('Lund', { taskId: waiting.id }))) as Task;
    expect(resumed.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(resumed)).toBe('done:Lund');
    expect(fake.calls).toHaveLength(4);
    // the upstream saw the whole exchange on the resumed turn
    const msgs = (fake.calls[3]!.body as any).messages.map((m: any) => m.content);
    expect(msgs).toEqual(expect.arrayContaining(['ask:which city?', 'which city?', 'Lund']));
  }, 150_000);
});
