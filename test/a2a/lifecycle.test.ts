import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage, v1Client } from './harness.js';

afterEach(closeNodes);

describe('A2A task lifecycle edges', () => {
  it('a streaming client that goes away mid-task does not leave the task working: it completes and is stored so', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const client = await v1Client(node.http.url, 'slow');
    const abort = new AbortController();
    const stream = client.sendMessageStream(sendParams(userMessage('keep going without me')), { signal: abort.signal });
    const first = await stream.next();
    const id = (first.value!.payload as { value: Task }).value.id;
    await until(() => model.calls === 1, 10_000, 'the run at the model');
    abort.abort();
    await stream.next().catch(() => undefined);
    release();
    await until(async () => (await client.getTask({ tenant: '', id, historyLength: undefined })).status?.state === TaskState.TASK_STATE_COMPLETED, 10_000, 'the task completed');
    expect(answerOf(await client.getTask({ tenant: '', id, historyLength: undefined }))).toBe('done:keep going without me');
  });

  it('cancelling a task that waits for input cancels it; a follow-up after that is refused', async () => {
    const model = new CountingModel();
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'asker' });
    const client = await v1Client(node.http.url, 'asker');
    const waiting = await client.sendMessage(sendParams(userMessage('ask:sure?'))) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const canceled = await client.cancelTask({ tenant: '', id: waiting.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect(client.sendMessage(sendParams(userMessage('yes', { taskId: waiting.id })))).rejects.toMatchObject({ name: 'UnsupportedOperationError' });
    expect(model.calls).toBe(1);
  });

  it('with API keys a task is visible only to the key that made it', async () => {
    const node = await a2aNode({ http: { port: 0, apiKeys: ['sk-key-one-1234', 'sk-key-two-5678'] } });
    node.spawnAgent({ name: 'echo' });
    const keyed = (key: string) => (async (input: any, init?: any) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), authorization: `Bearer ${key}` } })) as typeof fetch;
    const one = await v1Client(node.http.url, 'echo', keyed('sk-key-one-1234'));
    const two = await v1Client(node.http.url, 'echo', keyed('sk-key-two-5678'));
    const task = await one.sendMessage(sendParams(userMessage('mine'))) as Task;
    expect((await one.getTask({ tenant: '', id: task.id, historyLength: undefined })).id).toBe(task.id);
    await expect(two.getTask({ tenant: '', id: task.id, historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    await expect(two.cancelTask({ tenant: '', id: task.id, metadata: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    const base = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined };
    expect((await two.listTasks(base)).totalSize).toBe(0);
    expect((await one.listTasks(base)).totalSize).toBe(1);
  });

  it('an agent run that fails marks its task failed with the coded reason', async () => {
    const node = await a2aNode({
      modelProvider: {
        name: 'broken', offline: true, defaultModel: 'broken',
        complete: async () => { throw new Error('upstream exploded'); },
      } as never,
    });
    node.spawnAgent({ name: 'broken' });
    const client = await v1Client(node.http.url, 'broken');
    const task = await client.sendMessage(sendParams(userMessage('try'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    const code = (task.status?.message?.metadata as { code?: string } | undefined)?.code;
    expect(code).toMatch(/^TROUPE_ERR_/);
    expect(task.status?.message?.parts[0]?.content).toMatchObject({ $case: 'text', value: expect.stringContaining(code!) });
  });
});
