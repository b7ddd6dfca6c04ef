import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { drive, driveUntil } from '../transport/clocked.js';
import { until } from '../helpers.js';
import { answerOf, sendParams, userMessage } from '../a2a/harness.js';
import { HB, closeCut, cluster, ctx, follow, listAll, tick } from './cut-harness.js';

afterEach(closeCut);

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
