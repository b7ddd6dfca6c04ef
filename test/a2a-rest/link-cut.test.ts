import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ServerCallContext, UnauthenticatedUser } from '@a2a-js/sdk/server';
import { startNode, type A2AApi, type RunningNode } from '../../index.js';
import { ManualClock } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';
import { drive, driveUntil, settled, tickOf, type Linked } from '../transport/clocked.js';
import { CountingModel, answerOf, sendParams, userMessage } from '../a2a/harness.js';

// Two nodes in one process on one ManualClock: node A takes the calls for agent `far` of node
// B and forwards them to B's home actor. The peer link between them is cut (a partition: both
// sides hear nothing, each marks the other down) and healed, with time moved by the test.
const HB = 150;
const tick = tickOf(HB);
const nodes: RunningNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

const ctx = () => new ServerCallContext({ user: new UnauthenticatedUser() });
const listAll = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined, pageSize: 100, historyLength: undefined, includeArtifacts: false };
const statusOf = (n: RunningNode, id: string) => n.clusterInfo().members.find((m) => m.node === id)?.status;

async function cluster() {
  const clock = new ManualClock(1_000_000);
  const model = new CountingModel();
  // a window long enough for the partition, its detection and the reconnect, all on the clock
  const a2a = { forward: { retryWindowMs: 120_000, attemptTimeoutMs: 5_000 } };
  const a = await startNode({ id: 'cut-a', logger: silent, http: false, clock, model: { provider: 'offline' }, a2a, cluster: { port: 0, heartbeatMs: HB } });
  nodes.push(a);
  const b = await startNode({ id: 'cut-b', logger: silent, http: false, clock, modelProvider: model, a2a, cluster: { port: 0, heartbeatMs: HB, seeds: [a.peer!.url] } });
  nodes.push(b);
  const both: Linked[] = [{ t: a.cluster!.transport }, { t: b.cluster!.transport }];
  const up = () => statusOf(a, 'cut-b') === 'up' && statusOf(b, 'cut-a') === 'up' && settled(both);
  await driveUntil(clock, both, tick, up, 40 * HB, 'cut-a and cut-b up');
  b.spawnAgent({ name: 'far', description: 'lives on B' });
  const api = a.module<A2AApi>('a2a');
  await until(async () => (await api.endpoint('far'))?.executor === undefined && (await api.endpoint('far')) !== undefined, 15_000, 'A knows of far');
  const viaA = (await api.endpoint('far'))!.handler;
  const onB = (await b.module<A2AApi>('a2a').endpoint('far'))!.handler;
  const gate = () => {
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    return () => { model.gate = undefined; release(); };
  };
  /** Cut the link until both sides have marked the other down; returns the heal. */
  const cut = async (): Promise<() => Promise<void>> => {
    const heal = a.cluster!.transport.partition('cut-b');
    await driveUntil(clock, both, tick, () => statusOf(a, 'cut-b') === 'down' && statusOf(b, 'cut-a') === 'down', 40 * HB, 'both sides see the other down');
    return async () => {
      heal();
      await driveUntil(clock, both, tick, up, 400 * HB, 'the link back');
    };
  };
  return { a, b, clock, both, model, viaA, onB, gate, cut };
}

/** A promise's outcome, when it has one. */
function follow<T>(p: Promise<T>): { readonly value?: T; readonly error?: unknown; readonly done: boolean } {
  const o: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then((value) => Object.assign(o, { value, done: true }), (error: unknown) => Object.assign(o, { error, done: true }));
  return o;
}

describe('calls forwarded to the agent\'s node ride out a peer link that drops and comes back', () => {
  it('a blocking send whose answer was lost with the link gets it on a retry, and the agent ran once (the home remembers the call)', async () => {
    const { clock, both, model, viaA, onB, gate, cut } = await cluster();
    const release = gate();
    const sent = follow(viaA.sendMessage(sendParams(userMessage('cut me')), ctx()));
    await until(() => model.calls === 1, 15_000, 'the run reached the model on B');
    const heal = await cut();
    // B finishes while A is cut off: its answer has nowhere to go
    release();
    await until(async () => (await onB.listTasks(listAll, ctx())).tasks[0]?.status?.state === TaskState.TASK_STATE_COMPLETED, 15_000, 'completed on B');
    expect(sent.done).toBe(false);
    await heal();
    await driveUntil(clock, both, tick, () => sent.done, 200 * HB, 'the send answered');
    expect(sent.error).toBeUndefined();
    const task = sent.value as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(task)).toBe('done:cut me');
    // one task, one run
    const list = await onB.listTasks(listAll, ctx());
    expect(list.totalSize).toBe(1);
    expect(list.tasks[0]!.id).toBe(task.id);
    expect(model.calls).toBe(1);
  }, 60_000);

  it('a send and a read sent into the cut are asked again once the link is back: each runs once, and a cancel sent into the cut cancels the task', async () => {
    const { clock, both, model, viaA, onB, gate, cut } = await cluster();
    const heal = await cut();
    const sent = follow(viaA.sendMessage(sendParams(userMessage('after the cut')), ctx()));
    const read = follow(viaA.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined }, ctx()));
    // A's retries back off on the clock while B is down to it
    await drive(clock, both, 10 * HB, tick);
    expect(sent.done).toBe(false);
    expect(read.done).toBe(false);
    await heal();
    await driveUntil(clock, both, tick, () => sent.done && read.done, 200 * HB, 'both answered');
    expect((sent.value as Task).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(read.error).toMatchObject({ name: 'TaskNotFoundError' });
    expect(model.calls).toBe(1);
    expect((await onB.listTasks(listAll, ctx())).totalSize).toBe(1);

    // a cancel sent into the cut: asked again once the link is back
    const release = gate();
    const slow = await viaA.sendMessage(sendParams(userMessage('slow one'), { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true }), ctx()) as Task;
    await until(() => model.calls === 2, 15_000, 'the run reached the model');
    const heal2 = await cut();
    const canceled = follow(viaA.cancelTask({ tenant: '', id: slow.id, metadata: undefined }, ctx()));
    await heal2();
    await driveUntil(clock, both, tick, () => canceled.done, 200 * HB, 'the cancel answered');
    release();
    expect(canceled.error).toBeUndefined();
    expect((canceled.value as Task).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect((await onB.getTask({ tenant: '', id: slow.id, historyLength: undefined }, ctx())).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  }, 60_000);
});
