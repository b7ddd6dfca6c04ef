import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { driveUntil } from '../transport/clocked.js';
import { until } from '../helpers.js';
import { answerOf, sendParams, userMessage } from '../a2a/harness.js';
import { HB, closeCut, cluster, ctx, follow, tick } from './cut-harness.js';

afterEach(closeCut);

describe('a follow-up forwarded to the agent\'s node rides out a peer link that drops', () => {
  it('the answer to an input-required task whose reply was lost with the link: asked again, one continuation, the same answer', async () => {
    const { clock, both, model, viaA, onB, gate, cut } = await cluster();
    const asked = await viaA.sendMessage(sendParams(userMessage('ask:which city?')), ctx()) as Task;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const calls = model.calls;
    const release = gate();
    const answer = userMessage('Lund', { taskId: asked.id, contextId: asked.contextId });
    const resumed = follow(viaA.sendMessage(sendParams(answer), ctx()));
    await until(() => model.calls === calls + 1, 15_000, 'the continuation reached the model on B');
    const heal = await cut();
    release();
    await until(async () => (await onB.getTask({ tenant: '', id: asked.id, historyLength: undefined }, ctx())).status?.state === TaskState.TASK_STATE_COMPLETED, 15_000, 'completed on B');
    expect(resumed.done).toBe(false);
    await heal();
    await driveUntil(clock, both, tick, () => resumed.done, 200 * HB, 'the follow-up answered');
    expect(resumed.error).toBeUndefined();
    expect((resumed.value as Task).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(resumed.value as Task)).toBe('done:Lund');
    expect(model.calls).toBe(calls + 1);
    // the client's own repeat of the message (a new call) is the task actor's to dedupe: the same answer, no run
    const again = await viaA.sendMessage(sendParams(answer), ctx()) as Task;
    expect(again.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(model.calls).toBe(calls + 1);
  }, 60_000);
});
