import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ServerCallContext, UnauthenticatedUser } from '@a2a-js/sdk/server';
import { ClientFactory as ClientFactory03 } from 'a2a-sdk-03/client';
import type { A2AApi } from '../../index.js';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage, v1Client } from '../a2a/harness.js';

afterEach(closeNodes);

const noWait = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
const listAll = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined };

/** Node A (no agents) and node B (the agent `far`, on a model that can be held at a gate). */
async function twoNodes(options: { streamBuffer?: number } = {}) {
  const model = new CountingModel();
  const a = await a2aNode({ id: 'home-a', cluster: { port: 0, heartbeatMs: 150 }, ...(options.streamBuffer ? { a2a: { streamBuffer: options.streamBuffer } } : {}) });
  const b = await a2aNode({ id: 'home-b', modelProvider: model, cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] } });
  await until(() => a.peers().includes('home-b') && b.peers().includes('home-a'), 10_000, 'both nodes up');
  b.spawnAgent({ name: 'far', description: 'lives on B' });
  await until(async () => (await fetch(`${a.http.url}/a2a/far/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).status === 200, 10_000, 'A knows of far');
  const gate = () => {
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    return () => { model.gate = undefined; release(); };
  };
  return { a, b, model, gate };
}

describe("A2A tasks of an agent on another node live on the agent's node", () => {
  it('the 1.x client against node A: send, stream, get, list, input-required, cancel and resubscribe, each task kept on node B', async () => {
    const { a, b, model, gate } = await twoNodes();
    const viaA = await v1Client(a.http.url, 'far');
    const viaB = await v1Client(b.http.url, 'far');

    const sent = await viaA.sendMessage(sendParams(userMessage('across'))) as Task;
    expect(sent.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(sent)).toBe('done:across');
    // the task is B's: B's own endpoint finds it, and A's get asks B
    expect((await viaB.getTask({ tenant: '', id: sent.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect((await viaA.getTask({ tenant: '', id: sent.id, historyLength: 1 })).history).toHaveLength(1);
    await expect(viaA.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    // the REST binding and push configs go to B as well
    const rest = await fetch(`${a.http.url}/a2a/far/v1/tasks/${sent.id}`, { headers: { 'a2a-version': '1.0' } });
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { id: string }).id).toBe(sent.id);
    await expect(viaA.createTaskPushNotificationConfig({ tenant: '', id: '', taskId: sent.id, url: 'http://169.254.169.254/hook', token: '', authentication: undefined }))
      .rejects.toThrow(/TROUPE_ERR_A2A_PUSH_URL_REFUSED/);
    expect((await viaA.listTaskPushNotificationConfig({ tenant: '', taskId: sent.id, pageSize: 0, pageToken: '' })).configs).toEqual([]);
    await expect(viaA.listTaskPushNotificationConfig({ tenant: '', taskId: 'no-such-task', pageSize: 0, pageToken: '' })).rejects.toMatchObject({ name: 'TaskNotFoundError' });

    const events: any[] = [];
    for await (const ev of viaA.sendMessageStream(sendParams(userMessage('streamed')))) events.push(ev.payload);
    expect(events[0].$case).toBe('task');
    expect(events.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
    expect((await viaB.getTask({ tenant: '', id: events[0].value.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    // input-required, answered through A (the follow-up runs once, on B)
    const asked = await viaA.sendMessage(sendParams(userMessage('ask:which city?'))) as Task;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const answer = userMessage('Lund', { taskId: asked.id, contextId: asked.contextId });
    const resumed = await viaA.sendMessage(sendParams(answer)) as Task;
    expect(resumed.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const calls = model.calls;
    // a repeated messageId gets the same answer, without another run
    expect(((await viaA.sendMessage(sendParams(answer))) as Task).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(model.calls).toBe(calls);

    // cancel a working task through A
    let release = gate();
    const slow = await viaA.sendMessage(sendParams(userMessage('slow one'), noWait)) as Task;
    await until(() => model.calls === calls + 1, 10_000, 'the run reached the model');
    expect((await viaA.cancelTask({ tenant: '', id: slow.id, metadata: undefined })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    release();
    expect((await viaB.getTask({ tenant: '', id: slow.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect(viaA.cancelTask({ tenant: '', id: sent.id, metadata: undefined })).rejects.toMatchObject({ name: 'TaskNotCancelableError' });

    // resubscribe through A to a task started through B
    release = gate();
    const later = await viaB.sendMessage(sendParams(userMessage('later'), noWait)) as Task;
    await until(() => model.calls === calls + 2, 10_000, 'the run reached the model');
    const followed: any[] = [];
    for await (const ev of viaA.resubscribeTask({ tenant: '', id: later.id })) {
      followed.push(ev.payload);
      if (followed.length === 1) release();
    }
    expect(followed[0]).toMatchObject({ $case: 'task', value: { id: later.id } });
    expect(followed.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
    await expect(viaA.resubscribeTask({ tenant: '', id: later.id }).next()).rejects.toThrow(/Code: -32004/);

    // list: the agent's tasks, the same through either node
    const listA = await viaA.listTasks(listAll);
    const listB = await viaB.listTasks(listAll);
    expect(listA.totalSize).toBe(5);
    expect(listA.tasks.map((t) => t.id)).toEqual(listB.tasks.map((t) => t.id));
  }, 60_000);

  it('the 0.3 client against node A: message/send, message/stream, tasks/get, tasks/cancel, tasks/resubscribe', async () => {
    const { a, b, model, gate } = await twoNodes();
    const old = await new ClientFactory03().createFromUrl(`${a.http.url}/a2a/far/.well-known/agent-card.json`, '');
    const msg = (text: string) => ({ kind: 'message' as const, messageId: randomUUID(), role: 'user' as const, parts: [{ kind: 'text' as const, text }] });
    const t: any = await old.sendMessage({ message: msg('old and far') });
    expect(t).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect((await old.getTask({ id: t.id }) as any).status.state).toBe('completed');
    const events: any[] = [];
    for await (const ev of old.sendMessageStream({ message: msg('stream the old way') })) events.push(ev);
    expect(events[0].kind).toBe('task');
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });

    let release = gate();
    const t1: any = await old.sendMessage({ message: msg('one'), configuration: { blocking: false } });
    await until(() => model.calls === 3, 10_000, 'run at the model');
    expect((await old.cancelTask({ id: t1.id }) as any).status.state).toBe('canceled');
    release();
    release = gate();
    const t2: any = await old.sendMessage({ message: msg('two'), configuration: { blocking: false } });
    await until(() => model.calls === 4, 10_000, 'run at the model');
    const followed: any[] = [];
    for await (const ev of old.resubscribeTask({ id: t2.id })) {
      followed.push(ev);
      if (followed.length === 1) release();
    }
    expect(followed.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    // all of them are B's
    const viaB = await v1Client(b.http.url, 'far');
    expect((await viaB.listTasks(listAll)).totalSize).toBe(4);
  }, 60_000);

  it('the node that took the request going away mid-stream leaves the task to finish truthfully on its node', async () => {
    const { a, b, model, gate } = await twoNodes();
    const viaA = await v1Client(a.http.url, 'far');
    const release = gate();
    const stream = viaA.sendMessageStream(sendParams(userMessage('long haul')));
    const first = await stream.next();
    const id = (first.value!.payload as { value: Task }).value.id;
    await until(() => model.calls === 1, 10_000, 'the run reached the model');
    await a.close();
    await stream.next().catch(() => undefined);
    release();
    const viaB = await v1Client(b.http.url, 'far');
    await until(async () => (await viaB.getTask({ tenant: '', id, historyLength: undefined })).status?.state === TaskState.TASK_STATE_COMPLETED, 10_000, 'completed on B');
    expect(answerOf(await viaB.getTask({ tenant: '', id, historyLength: undefined }))).toBe('done:long haul');
  }, 60_000);

  it("a reader that lags past the stream buffer gets TROUPE_ERR_A2A_STREAM_OVERFLOW; the task completes on its node", async () => {
    const { a, b } = await twoNodes({ streamBuffer: 16 });
    b.spawnAgent({ name: 'talker', description: 'on the offline model', provider: { kind: 'offline' } });
    const api = a.module<A2AApi>('a2a');
    await until(async () => (await api.endpoint('talker')) !== undefined, 10_000, 'A knows of talker');
    const ep = (await api.endpoint('talker'))!;
    const ctx = () => new ServerCallContext({ user: new UnauthenticatedUser() });
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const stream = ep.handler.sendMessageStream(sendParams(userMessage(words)), ctx());
    const first = await stream.next();
    const id = (first.value as any).payload.value.id as string;
    const home = (await b.module<A2AApi>('a2a').endpoint('talker'))!;
    await until(async () => (await home.handler.getTask({ tenant: '', id, historyLength: undefined }, ctx())).status?.state === TaskState.TASK_STATE_COMPLETED, 10_000, 'completed on B');
    let error: any;
    try {
      for (let r = await stream.next(); !r.done; r = await stream.next());
    } catch (e) {
      error = e;
    }
    expect(error?.code).toBe('TROUPE_ERR_A2A_STREAM_OVERFLOW');
    expect(answerOf(await ep.handler.getTask({ tenant: '', id, historyLength: undefined }, ctx()))).toContain('word40');
  }, 60_000);
});
