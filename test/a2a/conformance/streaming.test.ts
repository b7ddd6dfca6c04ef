import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { TERMINAL, call, kindOf, msg, openStream, sendTask, stateOf, sut, until, waitingTask, workingTask, type SseEvent } from './wire.js';

afterEach(closeNodes);

/** What an event says, for comparing two streams of one task. */
const digest = (e: SseEvent): string => {
  const r = e.data.result;
  const k = kindOf(r);
  if (k === 'artifactUpdate') return `artifact:${r.artifactUpdate.artifact.parts.map((p: any) => p.text).join('')}`;
  return `${k}:${stateOf(r)}`;
};

/**
 * A2A TCK streaming requirements (spec 3.1.2, 3.1.6, 3.5.2) and the JSON-RPC SSE format,
 * over raw HTTP with `A2A-Version: 1.0`.
 */
describe('TCK streaming: SendStreamingMessage, SubscribeToTask, event delivery (JSON-RPC 1.0)', () => {
  it('CORE-STREAM-001 SendStreamingMessage opens an event stream of real-time updates', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'SendStreamingMessage', { message: msg('Stream hello from TCK') });
    expect(st.status).toBe(200);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    const events = await st.rest();
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.event === 'message')).toBe(true);
  });

  it('CORE-STREAM-003 a task stream begins with the Task, then updates, and closes at the terminal state', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'SendStreamingMessage', { message: msg('Stream task lifecycle') });
    const events = await st.rest();
    expect(kindOf(events[0]!.data.result)).toBe('task');
    const rest = events.slice(1).map((e) => kindOf(e.data.result));
    expect(rest.every((k) => k === 'statusUpdate' || k === 'artifactUpdate')).toBe(true);
    expect(TERMINAL.has(stateOf(events.at(-1)!.data.result)!)).toBe(true);
    // nothing after the terminal state: the server closed the stream there
    expect(events.filter((e) => TERMINAL.has(stateOf(e.data.result) ?? ''))).toHaveLength(1);
  });

  it('STREAM-ORDER-001 events arrive in the order they were generated', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'SendStreamingMessage', { message: msg('ordered') });
    const events = (await st.rest()).map((e) => e.data.result);
    const task = events[0].task;
    for (const e of events.slice(1)) expect((e.statusUpdate ?? e.artifactUpdate).taskId).toBe(task.id);
    // submitted/working before the artifact, the artifact before completion
    const states = events.map((e) => stateOf(e)).filter(Boolean) as string[];
    const rank = (x: string) => (x === 'TASK_STATE_SUBMITTED' ? 0 : x === 'TASK_STATE_WORKING' ? 1 : 2);
    for (let i = 1; i < states.length; i++) expect(rank(states[i]!)).toBeGreaterThanOrEqual(rank(states[i - 1]!));
    const firstArtifact = events.findIndex((e) => 'artifactUpdate' in e);
    expect(firstArtifact).toBeGreaterThan(0);
    expect(firstArtifact).toBeLessThan(events.length - 1);
    const stamps = events.map((e) => e.statusUpdate?.status?.timestamp).filter(Boolean).map((t: string) => Date.parse(t));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThanOrEqual(stamps[i - 1]!);
    // the streamed artifact is what the stored task holds
    const stored = (await call(s.url, 'GetTask', { id: task.id })).body.result;
    const streamed = events.filter((e) => 'artifactUpdate' in e).map((e) => e.artifactUpdate.artifact.parts.map((p: any) => p.text).join('')).join('');
    expect(stored.artifacts.map((a: any) => a.parts.map((p: any) => p.text).join('')).join('')).toBe(streamed);
  });

  it('STREAM-ORDER-002 events of a task are broadcast to every active stream of it', async () => {
    const s = await sut();
    const { task, release } = await workingTask(s);
    const a = await openStream(s.url, 'SubscribeToTask', { id: task.id });
    const b = await openStream(s.url, 'SubscribeToTask', { id: task.id });
    expect(kindOf((await a.next())!.data.result)).toBe('task');
    expect(kindOf((await b.next())!.data.result)).toBe('task');
    release();
    const [ea, eb] = await Promise.all([a.rest(), b.rest()]);
    expect(ea.length).toBeGreaterThan(0);
    expect(ea.some((e) => 'artifactUpdate' in e.data.result)).toBe(true);
    expect(eb.some((e) => 'artifactUpdate' in e.data.result)).toBe(true);
    expect(stateOf(ea.at(-1)!.data.result)).toBe('TASK_STATE_COMPLETED');
    expect(stateOf(eb.at(-1)!.data.result)).toBe('TASK_STATE_COMPLETED');
  });

  it('STREAM-ORDER-003 each stream of a task receives the same events in the same order', async () => {
    const s = await sut();
    const { task, release } = await workingTask(s);
    const streams = await Promise.all([0, 1, 2].map(() => openStream(s.url, 'SubscribeToTask', { id: task.id })));
    for (const st of streams) await st.next();
    release();
    const all = await Promise.all(streams.map((st) => st.rest()));
    const seqs = all.map((events) => events.map(digest));
    expect(seqs[0]!.length).toBeGreaterThan(1);
    expect(seqs[1]).toEqual(seqs[0]);
    expect(seqs[2]).toEqual(seqs[0]);
  });

  it('STREAM-ORDER-004 closing one stream does not affect the other streams of the task', async () => {
    const s = await sut();
    const { task, release } = await workingTask(s);
    const gone = await openStream(s.url, 'SubscribeToTask', { id: task.id });
    const kept = await openStream(s.url, 'SubscribeToTask', { id: task.id });
    await gone.next();
    await kept.next();
    gone.close();
    release();
    const events = await kept.rest();
    expect(stateOf(events.at(-1)!.data.result)).toBe('TASK_STATE_COMPLETED');
    expect(events.some((e) => 'artifactUpdate' in e.data.result)).toBe(true);
    expect((await until(s, task.id, TERMINAL)).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('STREAM-SUB-001 SubscribeToTask sends the Task, in its current state, as the first event', async () => {
    const s = await sut();
    const waiting = await waitingTask(s);
    const st = await openStream(s.url, 'SubscribeToTask', { id: waiting.id });
    expect(st.contentType).toMatch(/^text\/event-stream/);
    const first = (await st.next())!;
    expect(first.data.result.task).toMatchObject({ id: waiting.id, contextId: waiting.contextId, status: { state: 'TASK_STATE_INPUT_REQUIRED' } });
    st.close();
  });

  it('STREAM-SUB-002 a SubscribeToTask stream ends when the task reaches a terminal state', async () => {
    const s = await sut();
    const waiting = await waitingTask(s);
    const st = await openStream(s.url, 'SubscribeToTask', { id: waiting.id });
    expect(kindOf((await st.next())!.data.result)).toBe('task');
    const answered = await call(s.url, 'SendMessage', { message: msg('Complete', { taskId: waiting.id }) });
    expect(answered.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    const events = await st.rest();
    expect(events.length).toBeGreaterThan(0);
    expect(stateOf(events.at(-1)!.data.result)).toBe('TASK_STATE_COMPLETED');
  });

  it('STREAM-SUB-003 SubscribeToTask on a task in a terminal state is UnsupportedOperationError (-32004), as an event stream', async () => {
    const s = await sut();
    const done = await sendTask(s, 'finished already');
    const st = await openStream(s.url, 'SubscribeToTask', { id: done.id });
    expect(st.status).toBe(200);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    const events = await st.rest();
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toBe('error');
    expect(events[0]!.data).toMatchObject({ jsonrpc: '2.0', id: st.id, error: { code: -32004 } });
  });

  it('STREAM-SUB-004 SubscribeToTask of an id that does not exist is TaskNotFoundError (-32001), as an event stream', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'SubscribeToTask', { id: 'tck-nonexistent-sub-004' });
    expect(st.status).toBe(200);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    const events = await st.rest();
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ jsonrpc: '2.0', id: st.id, error: { code: -32001, message: expect.any(String) } });
  });

  it('JSONRPC-SSE-001 each SSE event is a JSON-RPC 2.0 response (the request id) around one StreamResponse', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'SendStreamingMessage', { message: msg('TCK streaming test') });
    const events = await st.rest();
    expect(events.length).toBeGreaterThan(1);
    for (const e of events) {
      expect(e.data.jsonrpc).toBe('2.0');
      expect(e.data.id).toBe(st.id);
      expect('error' in e.data).toBe(false);
      const keys = Object.keys(e.data.result).filter((k) => ['task', 'message', 'statusUpdate', 'artifactUpdate'].includes(k));
      expect(keys).toHaveLength(1);
    }
    // a streaming failure is one too: an error response with the id, as the event's data
    const bad = await openStream(s.url, 'SendStreamingMessage', { message: { messageId: 'x', role: 'ROLE_USER', parts: [] } });
    const [err] = await bad.rest();
    expect(err!.data).toMatchObject({ jsonrpc: '2.0', id: bad.id, error: { code: -32602 } });
  });
});
