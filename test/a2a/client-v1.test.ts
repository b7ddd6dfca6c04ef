import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage, v1Client } from './harness.js';

afterEach(closeNodes);

const noWait = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };

describe('A2A 1.0 through the official @a2a-js/sdk 1.x ClientFactory', () => {
  it('send blocks until the task completes, with the answer as an artifact and the exchange in its history', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo', description: 'echoes' });
    const client = await v1Client(node.http.url, 'echo');
    expect(client.protocolVersion).toBe('1.0');
    const task = await client.sendMessage(sendParams(userMessage('hello there'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(task)).toBe('[troupe-offline] You said: hello there');
    expect(task.history.map((m) => m.role)).toEqual([1, 2]);
    expect(new Date(task.status!.timestamp!).toISOString()).toBe(task.status!.timestamp);
  });

  it('stream yields the task, working, the answer in artifact chunks, and completed, in that order', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const events: any[] = [];
    for await (const ev of client.sendMessageStream(sendParams(userMessage('stream me please')))) events.push(ev.payload);
    expect(events[0].$case).toBe('task');
    expect(events[1]).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_WORKING } } });
    expect(events.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
    const chunks = events.filter((e) => e.$case === 'artifactUpdate');
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.value.artifact.parts[0].content.value).join('')).toBe('[troupe-offline] You said: stream me please');
    expect(chunks.slice(1).every((c) => c.value.append)).toBe(true);
    // the streamed task is stored as it ended
    const stored = await client.getTask({ tenant: '', id: events[0].value.id, historyLength: undefined });
    expect(stored.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(stored)).toBe('[troupe-offline] You said: stream me please');
  });

  it('getTask honours historyLength; an unknown task is TaskNotFound', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('remember me'))) as Task;
    expect((await client.getTask({ tenant: '', id: task.id, historyLength: undefined })).history).toHaveLength(2);
    const one = await client.getTask({ tenant: '', id: task.id, historyLength: 1 });
    expect(one.history).toHaveLength(1);
    expect(one.history[0]!.role).toBe(2);
    await expect(client.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    // over the event stream too (the SDK client reports an error event by its code)
    await expect(client.resubscribeTask({ tenant: '', id: 'no-such-task' }).next()).rejects.toThrow(/Code: -32001/);
  });

  it('listTasks pages newest first with a cursor, filters by context and state, and shows only this agent\'s tasks', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    node.spawnAgent({ name: 'other' });
    const client = await v1Client(node.http.url, 'echo');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await client.sendMessage(sendParams(userMessage(`t${i}`, { contextId: i < 2 ? 'ctx-a' : '' })))) as Task).id);
    await (await v1Client(node.http.url, 'other')).sendMessage(sendParams(userMessage('elsewhere')));
    const base = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined };
    const p1 = await client.listTasks({ ...base, pageSize: 2 });
    expect(p1.totalSize).toBe(5);
    expect(p1.pageSize).toBe(2);
    expect(p1.tasks).toHaveLength(2);
    expect(p1.nextPageToken).not.toBe('');
    const p2 = await client.listTasks({ ...base, pageSize: 2, pageToken: p1.nextPageToken });
    const p3 = await client.listTasks({ ...base, pageSize: 2, pageToken: p2.nextPageToken });
    expect(p3.nextPageToken).toBe('');
    const seen = [...p1.tasks, ...p2.tasks, ...p3.tasks].map((t) => t.id);
    expect(new Set(seen)).toEqual(new Set(ids));
    const ctx = await client.listTasks({ ...base, contextId: 'ctx-a' });
    expect(ctx.tasks.map((t) => t.contextId)).toEqual(['ctx-a', 'ctx-a']);
    expect((await client.listTasks({ ...base, status: TaskState.TASK_STATE_COMPLETED })).totalSize).toBe(5);
    expect((await client.listTasks({ ...base, status: TaskState.TASK_STATE_FAILED })).totalSize).toBe(0);
    // artifacts only when asked
    expect(ctx.tasks[0]!.artifacts).toEqual([]);
    expect(answerOf((await client.listTasks({ ...base, contextId: 'ctx-a', includeArtifacts: true })).tasks[0]!)).toMatch(/You said: t[01]/);
  });

  it('returnImmediately answers at once; cancel stops the running task, and a second cancel of a done task is TaskNotCancelable', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const client = await v1Client(node.http.url, 'slow');
    const task = await client.sendMessage(sendParams(userMessage('take your time'), noWait)) as Task;
    expect([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING]).toContain(task.status?.state);
    await until(() => model.calls === 1, 10_000, 'the run reached the model');
    const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    release();
    expect((await client.getTask({ tenant: '', id: task.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);

    model.gate = undefined;
    const done = await client.sendMessage(sendParams(userMessage('quick'))) as Task;
    await expect(client.cancelTask({ tenant: '', id: done.id, metadata: undefined })).rejects.toMatchObject({ name: 'TaskNotCancelableError' });
    await expect(client.cancelTask({ tenant: '', id: 'nope', metadata: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
  });

  it('resubscribe to a running task yields its snapshot and then the rest of its events to completed', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const client = await v1Client(node.http.url, 'slow');
    const task = await client.sendMessage(sendParams(userMessage('later'), noWait)) as Task;
    await until(() => model.calls === 1, 10_000, 'the run reached the model');
    const events: any[] = [];
    const sub = (async () => {
      for await (const ev of client.resubscribeTask({ tenant: '', id: task.id })) {
        events.push(ev.payload);
        if (events.length === 1) release();
      }
    })();
    await sub;
    expect(events[0]).toMatchObject({ $case: 'task', value: { id: task.id } });
    expect(events.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
    // the task is stored completed (the SDK saves it off the request that started it)
    await until(async () => (await client.getTask({ tenant: '', id: task.id, historyLength: undefined })).status?.state === TaskState.TASK_STATE_COMPLETED, 5_000, 'stored completed');
    // a finished task cannot be subscribed to
    const it = client.resubscribeTask({ tenant: '', id: task.id });
    await expect(it.next()).rejects.toThrow(/Code: -32004/);
  });
});
