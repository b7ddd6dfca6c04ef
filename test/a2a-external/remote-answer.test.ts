import { TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { RemoteAnswer } from '../../actors/a2a/external/index.js';

const part = (value: string) => ({ content: { $case: 'text' as const, value }, mediaType: 'text/plain', filename: '', metadata: undefined });
const task = (state: TaskState, artifact?: string, question?: string): Task => ({
  id: 't1', contextId: 'c1', metadata: undefined, history: [],
  status: { state, timestamp: undefined, message: question === undefined ? undefined : { messageId: 'm', role: 2, contextId: 'c1', taskId: 't1', parts: [part(question)], extensions: [], referenceTaskIds: [], metadata: undefined } },
  artifacts: artifact === undefined ? [] : [{ artifactId: 'a', name: '', description: '', parts: [part(artifact)], metadata: undefined, extensions: [] }],
} as unknown as Task);
const chunk = (text: string, append: boolean): StreamResponse => ({
  payload: { $case: 'artifactUpdate', value: { taskId: 't1', contextId: 'c1', append, lastChunk: false, metadata: undefined, artifact: { artifactId: 'a', name: '', description: '', parts: [part(text)], metadata: undefined, extensions: [] } } },
} as unknown as StreamResponse);
const status = (state: TaskState): StreamResponse => ({ payload: { $case: 'statusUpdate', value: { taskId: 't1', contextId: 'c1', status: { state, message: undefined, timestamp: undefined }, metadata: undefined } } } as unknown as StreamResponse);

describe('a remote answer, from what the remote A2A server sends', () => {
  it('streams each piece of text once: a snapshot after a dropped stream adds only what was missed, a stale one nothing', () => {
    const out: string[] = [];
    const a = new RemoteAnswer((t) => out.push(t));
    a.event({ payload: { $case: 'task', value: task(TaskState.TASK_STATE_SUBMITTED) } } as StreamResponse);
    a.event(chunk('one ', false));
    a.task(task(TaskState.TASK_STATE_WORKING)); // a store behind the stream
    a.task(task(TaskState.TASK_STATE_WORKING, 'one two ')); // the resubscription's snapshot
    a.event(chunk('three', true));
    expect(a.final).toBe(false);
    a.event(status(TaskState.TASK_STATE_COMPLETED));
    expect(out).toEqual(['one ', 'two ', 'three']);
    expect([a.final, a.succeeded, a.text, a.streamedText]).toEqual([true, true, 'one two three', 'one two three']);
  });

  it('answers with the question of an input-required task, and does not end a resumed turn on its stale snapshot', () => {
    const asked = new RemoteAnswer();
    asked.task(task(TaskState.TASK_STATE_INPUT_REQUIRED, undefined, 'your name?'), true);
    expect([asked.final, asked.succeeded, asked.text]).toEqual([true, true, 'your name?']);
    const resumed = new RemoteAnswer(undefined, true);
    resumed.event({ payload: { $case: 'task', value: task(TaskState.TASK_STATE_INPUT_REQUIRED, undefined, 'your name?') } } as StreamResponse);
    expect(resumed.final).toBe(false);
    resumed.event(status(TaskState.TASK_STATE_WORKING));
    resumed.event(chunk('hello Ada', false));
    resumed.event(status(TaskState.TASK_STATE_COMPLETED));
    expect([resumed.final, resumed.text]).toEqual([true, 'hello Ada']);
  });

  it('takes a direct message as the whole answer, and a failed task as a failure with its reason', () => {
    const out: string[] = [];
    const direct = new RemoteAnswer((t) => out.push(t));
    direct.message({ messageId: 'm', role: 2, contextId: 'c9', taskId: '', parts: [part('just this')], extensions: [], referenceTaskIds: [], metadata: undefined } as never);
    expect([direct.final, direct.succeeded, direct.text, direct.contextId, out]).toEqual([true, true, 'just this', 'c9', ['just this']]);
    const failed = new RemoteAnswer();
    failed.task(task(TaskState.TASK_STATE_FAILED, undefined, 'it broke'), true);
    expect([failed.final, failed.succeeded, failed.statusText]).toEqual([true, false, 'it broke']);
  });
});
