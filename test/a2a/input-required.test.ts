import { afterEach, describe, expect, it } from 'vitest';
import { Task, TaskState } from '@a2a-js/sdk';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage, v1Client } from './harness.js';

afterEach(closeNodes);

async function waitingTask(model: CountingModel) {
  const node = await a2aNode({ modelProvider: model });
  node.spawnAgent({ name: 'asker', description: 'asks before it answers' });
  const client = await v1Client(node.http.url, 'asker');
  const first = await client.sendMessage(sendParams(userMessage('ask:which colour?'))) as Task;
  return { node, client, first };
}

describe('A2A input-required', () => {
  it('an agent that calls request_input leaves the task input-required with its question; a follow-up resumes it to completed', async () => {
    const model = new CountingModel();
    const { client, first } = await waitingTask(model);
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const question = first.status?.message?.parts[0]?.content;
    expect(question).toEqual({ $case: 'text', value: 'which colour?' });
    expect(model.calls).toBe(1);

    const done = await client.sendMessage(sendParams(userMessage('blue', { taskId: first.id, contextId: first.contextId }))) as Task;
    expect(done.id).toBe(first.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(done)).toBe('done:blue');
    expect(model.calls).toBe(2);
    // the history holds the whole exchange: the ask, the question, the answer, the reply
    const texts = done.history.map((m) => (m.parts[0]?.content?.$case === 'text' ? m.parts[0].content.value : ''));
    expect(texts).toEqual(['ask:which colour?', 'which colour?', 'blue', 'done:blue']);
    // a follow-up on the completed task is refused (-32004) and runs nothing
    await expect(client.sendMessage(sendParams(userMessage('again', { taskId: first.id })))).rejects.toMatchObject({ name: 'UnsupportedOperationError' });
    expect(model.calls).toBe(2);
  });

  it('20 concurrent follow-ups to one waiting task make exactly one continuation; the other 19 are refused with -32004', async () => {
    const model = new CountingModel();
    const { client, first } = await waitingTask(model);
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    let refusedEarly = 0;
    const sends = Array.from({ length: 20 }, (_, i) => client.sendMessage(sendParams(userMessage(`answer-${i}`, { taskId: first.id }))).catch((e: unknown) => {
      refusedEarly++;
      throw e;
    }));
    const settled = Promise.allSettled(sends);
    // the 19 losers are refused while the winner's run is still held at the model
    await until(() => refusedEarly === 19 && model.calls === 2, 10_000, '19 refusals while the winner runs');
    release();
    const outcomes = await settled;
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'UnsupportedOperationError' });
    expect(model.calls).toBe(2);
    const task = (won[0] as PromiseFulfilledResult<Task>).value;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    // the stored history has the one winning answer only
    const stored = await client.getTask({ tenant: '', id: first.id, historyLength: 100 });
    const userTexts = stored.history.filter((m) => m.role === 1).map((m) => (m.parts[0]?.content?.$case === 'text' ? m.parts[0].content.value : ''));
    expect(userTexts).toHaveLength(2);
    expect(userTexts[1]).toMatch(/^answer-\d+$/);
    expect(answerOf(stored)).toBe(`done:${userTexts[1]}`);
  });

  it('a repeated messageId gets the identical response and runs nothing again, concurrently and afterwards', async () => {
    const model = new CountingModel();
    const { client, first } = await waitingTask(model);
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const msg = userMessage('green', { taskId: first.id });
    const a = client.sendMessage(sendParams(msg));
    await until(() => model.calls === 2, 10_000, 'the first send reached the model');
    const b = client.sendMessage(sendParams(msg));
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(Task.toJSON(rb as Task)).toEqual(Task.toJSON(ra as Task));
    expect((ra as Task).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const later = await client.sendMessage(sendParams(msg));
    expect(Task.toJSON(later as Task)).toEqual(Task.toJSON(ra as Task));
    expect(model.calls).toBe(2);
  });

  it('a streamed follow-up resumes the task; its repeat gets the final task as one event', async () => {
    const model = new CountingModel();
    const { client, first } = await waitingTask(model);
    const msg = userMessage('red', { taskId: first.id });
    const kinds: string[] = [];
    let last: any;
    for await (const ev of client.sendMessageStream(sendParams(msg))) {
      kinds.push(ev.payload!.$case!);
      last = ev.payload;
    }
    expect(kinds[0]).toBe('task');
    expect(last).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
    const again: any[] = [];
    for await (const ev of client.sendMessageStream(sendParams(msg))) again.push(ev.payload);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ $case: 'task', value: { id: first.id, status: { state: TaskState.TASK_STATE_COMPLETED } } });
    expect(model.calls).toBe(2);
  });
});
