import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { tempDir, until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage, v1Client } from './harness.js';

const dirs: Array<() => void> = [];
afterEach(async () => {
  await closeNodes();
  for (const d of dirs.splice(0)) d();
});

const noWait = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };

describe('A2A tasks across a node restart (same data dir)', () => {
  it('completed and waiting tasks come back as they were; a task working at the stop is failed with a coded reason, none left working', async () => {
    const { dir, cleanup } = tempDir('troupe-a2a-restart-');
    dirs.push(cleanup);
    const model = new CountingModel();
    const first = await a2aNode({ id: 'a2a-r', dataDir: dir, modelProvider: model });
    first.spawnAgent({ name: 'keeper' });
    let client = await v1Client(first.http.url, 'keeper');
    const done = await client.sendMessage(sendParams(userMessage('keep this'))) as Task;
    const waiting = await client.sendMessage(sendParams(userMessage('ask:your name?'))) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const working = await client.sendMessage(sendParams(userMessage('long job'), noWait)) as Task;
    await until(() => model.calls === 3, 10_000, 'the long job at the model');
    await first.close();
    release();
    model.gate = undefined;

    const second = await a2aNode({ id: 'a2a-r', dataDir: dir, modelProvider: model });
    second.spawnAgent({ name: 'keeper' });
    client = await v1Client(second.http.url, 'keeper');
    const get = (id: string) => client.getTask({ tenant: '', id, historyLength: undefined });

    const d = await get(done.id);
    expect(d.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(d)).toBe('done:keep this');
    expect(d.history).toHaveLength(2);

    const w = await get(working.id);
    expect(w.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(w.status?.message?.metadata).toMatchObject({ code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' });

    const base = { tenant: '', contextId: '', status: TaskState.TASK_STATE_WORKING, pageToken: '', statusTimestampAfter: undefined };
    expect((await client.listTasks(base)).totalSize).toBe(0);
    expect((await client.listTasks({ ...base, status: TaskState.TASK_STATE_UNSPECIFIED })).totalSize).toBe(3);

    // the waiting task still waits, and a follow-up after the restart resumes it
    expect((await get(waiting.id)).status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const calls = model.calls;
    const resumed = await client.sendMessage(sendParams(userMessage('Grace', { taskId: waiting.id }))) as Task;
    expect(resumed.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(resumed)).toBe('done:Grace');
    expect(model.calls).toBe(calls + 1);
  });

  it('a repeated follow-up after a restart gets the journaled response and runs nothing', async () => {
    const { dir, cleanup } = tempDir('troupe-a2a-restart-');
    dirs.push(cleanup);
    const model = new CountingModel();
    const first = await a2aNode({ id: 'a2a-r2', dataDir: dir, modelProvider: model });
    first.spawnAgent({ name: 'keeper' });
    let client = await v1Client(first.http.url, 'keeper');
    const waiting = await client.sendMessage(sendParams(userMessage('ask:colour?'))) as Task;
    const answer = userMessage('teal', { taskId: waiting.id });
    const before = await client.sendMessage(sendParams(answer)) as Task;
    await first.close();

    const second = await a2aNode({ id: 'a2a-r2', dataDir: dir, modelProvider: model });
    second.spawnAgent({ name: 'keeper' });
    client = await v1Client(second.http.url, 'keeper');
    const calls = model.calls;
    const after = await client.sendMessage(sendParams(answer)) as Task;
    expect(after).toEqual(before);
    expect(model.calls).toBe(calls);
  });
});

describe('A2A recovery trusts the task journal over the listing', () => {
  it('a task whose listing says working but whose journal says completed (a crash between the two writes) comes back completed, not failed', async () => {
    const { dir, cleanup } = tempDir('troupe-a2a-stale-');
    dirs.push(cleanup);
    const model = new CountingModel();
    const first = await a2aNode({ id: 'a2a-s', dataDir: dir, modelProvider: model });
    first.spawnAgent({ name: 'keeper' });
    let client = await v1Client(first.http.url, 'keeper');
    // returnImmediately: its actor journals each step (a blocking send's record is all there is of its task)
    const done = await client.sendMessage(sendParams(userMessage('finished work'), noWait)) as Task;
    await until(async () => (await client.getTask({ tenant: '', id: done.id, historyLength: undefined })).status?.state === TaskState.TASK_STATE_COMPLETED, 10_000, 'the task completed');
    // the listing falls behind the journal, as a kill -9 between the two commits leaves it
    const db = first.store!.db('a2a.tasks');
    const [{ key, value }] = [...db.getRange({})] as Array<{ key: unknown; value: any }>;
    await db.put(key as never, { ...value, state: TaskState.TASK_STATE_WORKING, task: { ...value.task, status: { state: 'TASK_STATE_WORKING' } } });
    await first.close();

    const second = await a2aNode({ id: 'a2a-s', dataDir: dir, modelProvider: model });
    second.spawnAgent({ name: 'keeper' });
    client = await v1Client(second.http.url, 'keeper');
    const back = await client.getTask({ tenant: '', id: done.id, historyLength: undefined });
    expect(back.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(back)).toBe('done:finished work');
    expect(second.module<{ recovered: number }>('a2a').recovered).toBe(0);
  });
});
