import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import type { RunningNode } from '../../index.js';
import { tempDir, until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage, v1Client } from './harness.js';

const dirs: Array<() => void> = [];
afterEach(async () => {
  await closeNodes();
  for (const d of dirs.splice(0)) d();
});

/** The `a2a.task.saved` events a task's actor journaled (its journal key names the task id). */
function journaled(node: RunningNode, taskId: string): Array<{ state: string }> {
  const out: Array<{ state: string }> = [];
  for (const { key, value } of node.store!.journal.getRange({})) {
    const [k] = key as [string, number];
    if (!k.startsWith('a2a/task/') || !k.includes(JSON.stringify(taskId))) continue;
    const event = (value as { event: { type: string; task?: { status?: { state?: string } } } }).event;
    if (event.type === 'a2a.task.saved') out.push({ state: event.task?.status?.state ?? '' });
  }
  return out;
}

/** The task's entry in the listing (`a2a.tasks`), as LMDB holds it. */
function listed(node: RunningNode, taskId: string): { state: number; bare?: boolean } | undefined {
  for (const { value } of node.store!.db('a2a.tasks').getRange({})) if ((value as { id: string }).id === taskId) return value as { state: number; bare?: boolean };
  return undefined;
}

/** Live task actors of the node (`/user/a2a-task-<digest>`). */
function taskActors(node: RunningNode): number {
  let n = 0;
  const walk = (t: { path?: string; children?: unknown[] }): void => {
    if (typeof t.path === 'string' && /\/a2a-task-[0-9a-f]+$/.test(t.path)) n++;
    for (const c of t.children ?? []) walk(c as typeof t);
  };
  for (const root of node.actors()) walk(root);
  return n;
}

/** A node on a fresh data dir with the agent `scribe`, and a 1.x client of it. */
async function scribeNode(model = new CountingModel()) {
  const { dir, cleanup } = tempDir('troupe-a2a-bw-');
  dirs.push(cleanup);
  const node = await a2aNode({ id: 'a2a-bw', dataDir: dir, modelProvider: model });
  node.spawnAgent({ name: 'scribe' });
  return { node, model, client: await v1Client(node.http.url, 'scribe') };
}

const noWait = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
const listAll = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined };

describe('A2A blocking sends write their task once, at its end', () => {
  it('a blocking send writes one record (its listing, completed) and no journal, with no task actor; a non-blocking one journals each step', async () => {
    const { node, client } = await scribeNode();

    const blocking = await client.sendMessage(sendParams(userMessage('once'))) as Task;
    expect(blocking.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(blocking)).toBe('done:once');
    expect(journaled(node, blocking.id)).toEqual([]);
    expect(listed(node, blocking.id)).toMatchObject({ state: TaskState.TASK_STATE_COMPLETED, bare: true });
    expect(taskActors(node)).toBe(0);
    // another request finds it by its record; a message to the finished task is refused (-32004)
    expect((await client.getTask({ tenant: '', id: blocking.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    await expect(client.sendMessage(sendParams(userMessage('more', { taskId: blocking.id })))).rejects.toThrow(/terminal/);
    expect(journaled(node, blocking.id)).toEqual([]);

    // returnImmediately: the client holds the new task at once, so each step is written
    const quick = await client.sendMessage(sendParams(userMessage('steps'), noWait)) as Task;
    await until(async () => (await client.getTask({ tenant: '', id: quick.id, historyLength: undefined })).status?.state === TaskState.TASK_STATE_COMPLETED, 10_000, 'the non-blocking task completed');
    const states = journaled(node, quick.id).map((e) => e.state);
    expect(states[0]).toBe('TASK_STATE_SUBMITTED');
    expect(states).toContain('TASK_STATE_WORKING');
    expect(states.at(-1)).toBe('TASK_STATE_COMPLETED');
    expect(states.length).toBeGreaterThanOrEqual(3);
  });

  it('a blocking send that ends waiting for input leaves a bare record; the follow-up spawns its actor from it, which journals from then on', async () => {
    const { node, model, client } = await scribeNode();

    const waiting = await client.sendMessage(sendParams(userMessage('ask:which colour?'))) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(journaled(node, waiting.id)).toEqual([]);
    expect(listed(node, waiting.id)).toMatchObject({ state: TaskState.TASK_STATE_INPUT_REQUIRED, bare: true });
    expect(taskActors(node)).toBe(0);

    const calls = model.calls;
    const done = await client.sendMessage(sendParams(userMessage('teal', { taskId: waiting.id }))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(done)).toBe('done:teal');
    expect(model.calls).toBe(calls + 1);
    expect(taskActors(node)).toBe(1);
    // the actor started from the record: the follow-up's task (its whole history) is journaled, and listed as journaled
    expect(journaled(node, waiting.id).map((e) => e.state).at(-1)).toBe('TASK_STATE_COMPLETED');
    expect(listed(node, waiting.id)?.bare).toBeUndefined();
    const got = await client.getTask({ tenant: '', id: waiting.id, historyLength: undefined });
    expect(got.history?.map((m) => m.parts[0]?.content?.$case === 'text' ? m.parts[0].content.value : '')).toContain('ask:which colour?');
  });

  it('a working blocking task that another request reads is durable before that request is answered, and its later steps are written as they come', async () => {
    const { node, model, client } = await scribeNode();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const pending = client.sendMessage(sendParams(userMessage('long'))) as Promise<Task>;
    await until(() => model.calls === 1, 10_000, 'the blocking send at the model');

    const page = await client.listTasks(listAll);
    expect(page.tasks).toHaveLength(1);
    const id = page.tasks[0]!.id;
    expect(page.tasks[0]!.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    // told of by the listing: committed as it was told, journal and listing
    expect(journaled(node, id)).toEqual([{ state: 'TASK_STATE_WORKING' }]);
    expect(listed(node, id)?.state).toBe(TaskState.TASK_STATE_WORKING);
    const got = await client.getTask({ tenant: '', id, historyLength: undefined });
    expect(got.status?.state).toBe(TaskState.TASK_STATE_WORKING);

    release();
    model.gate = undefined;
    const done = await pending;
    expect(done.id).toBe(id);
    expect(answerOf(done)).toBe('done:long');
    // observed: the answer's artifact step is written too, then the end
    const states = journaled(node, id).map((e) => e.state);
    expect(states.length).toBeGreaterThanOrEqual(3);
    expect(states.at(-1)).toBe('TASK_STATE_COMPLETED');
  });

  it('a blocking send working when the node stops comes back failed with a coded reason, not lost and not working', async () => {
    const { dir, cleanup } = tempDir('troupe-a2a-bw-');
    dirs.push(cleanup);
    const model = new CountingModel();
    const first = await a2aNode({ id: 'a2a-bw', dataDir: dir, modelProvider: model });
    first.spawnAgent({ name: 'scribe' });
    let client = await v1Client(first.http.url, 'scribe');
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const pending = (client.sendMessage(sendParams(userMessage('cut short'))) as Promise<Task>).catch((e: unknown) => e);
    await until(() => model.calls === 1, 10_000, 'the blocking send at the model');
    await first.close();
    release();
    model.gate = undefined;
    const answered = await pending;
    if (!(answered instanceof Error)) expect((answered as Task).status?.state).toBe(TaskState.TASK_STATE_FAILED);

    const second = await a2aNode({ id: 'a2a-bw', dataDir: dir, modelProvider: model });
    second.spawnAgent({ name: 'scribe' });
    client = await v1Client(second.http.url, 'scribe');
    const page = await client.listTasks(listAll);
    expect(page.tasks).toHaveLength(1);
    const back = page.tasks[0]!;
    expect(back.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(back.status?.message?.metadata).toMatchObject({ code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' });
  });
});
