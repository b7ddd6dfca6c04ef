import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { TERMINAL, call, msg, sendTask, sut, until, waitingTask } from './wire.js';

afterEach(closeNodes);

/**
 * A2A TCK requirements of SendMessage (spec 3.1.1, 3.2.2, 3.2.4, 3.4) against
 * `POST /a2a/:agent` with `A2A-Version: 1.0`, over raw HTTP.
 */
describe('TCK core: SendMessage, execution mode, multi-turn, history (JSON-RPC 1.0)', () => {
  it('CORE-SEND-001 SendMessage answers with a Task or a Message', async () => {
    const s = await sut();
    const r = await call(s.url, 'SendMessage', { message: msg('Hello from TCK') });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ jsonrpc: '2.0', id: r.id });
    const keys = Object.keys(r.body.result);
    expect(keys.filter((k) => k === 'task' || k === 'message')).toHaveLength(1);
    expect(r.body.result.task).toMatchObject({ id: expect.any(String), contextId: expect.any(String), status: { state: 'TASK_STATE_COMPLETED' } });
  });

  it('CORE-SEND-002 a message to a task in a terminal state is UnsupportedOperationError (-32004)', async () => {
    const s = await sut();
    const done = await sendTask(s, 'finish');
    expect(TERMINAL.has(done.status.state)).toBe(true);
    const calls = s.model.calls;
    const r = await call(s.url, 'SendMessage', { message: msg('follow-up to a finished task', { taskId: done.id }) });
    expect(r.body).toMatchObject({ id: r.id, error: { code: -32004 } });
    expect(s.model.calls).toBe(calls);
  });

  it('CORE-SEND-003 a part whose media type the agent does not take is ContentTypeNotSupportedError (-32005)', async () => {
    const s = await sut();
    const calls = s.model.calls;
    const r = await call(s.url, 'SendMessage', {
      message: { messageId: 'tck-send-003', role: 'ROLE_USER', parts: [{ raw: 'dGNr', mediaType: 'application/x-unsupported-tck-type' }] },
    });
    expect(r.body).toMatchObject({ id: r.id, error: { code: -32005 } });
    expect(s.model.calls).toBe(calls);
    // what the card lists is taken
    const ok = await call(s.url, 'SendMessage', { message: { messageId: 'tck-send-003-ok', role: 'ROLE_USER', parts: [{ text: 'plain', mediaType: 'text/plain' }] } });
    expect(ok.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('CORE-EXECUTION-MODE-001 a blocking send (returnImmediately false or unset) answers at a terminal or interrupted state', async () => {
    const s = await sut();
    for (const configuration of [undefined, { returnImmediately: false }]) {
      const done = await sendTask(s, 'Blocking request', {}, configuration);
      expect(done.status.state).toBe('TASK_STATE_COMPLETED');
      expect(done.artifacts[0].parts[0].text).toBe('done:Blocking request');
    }
    const asked = await sendTask(s, 'ask:which one?', {}, { returnImmediately: false });
    expect(asked.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    // a run still working when the send came: the blocking answer waits past it
    const release = s.hold();
    const pending = sendTask(s, 'held', { contextId: 'tck-held' }, { returnImmediately: false });
    let working: any;
    for (let i = 0; i < 1_000 && !working; i++) {
      working = (await call(s.url, 'ListTasks', { contextId: 'tck-held' })).body.result.tasks.find((t: any) => t.status.state === 'TASK_STATE_WORKING');
      if (!working) await new Promise((r) => setTimeout(r, 10));
    }
    expect(working).toBeDefined();
    release();
    const answered = await pending;
    expect(answered).toMatchObject({ id: working.id, status: { state: 'TASK_STATE_COMPLETED' } });
  });

  it('CORE-EXECUTION-MODE-002 returnImmediately answers at once with the task still in progress', async () => {
    const s = await sut();
    const release = s.hold();
    const task = await sendTask(s, 'Non-blocking request', {}, { returnImmediately: true });
    expect(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING']).toContain(task.status.state);
    release();
    const finished = await until(s, task.id, TERMINAL);
    expect(finished.status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('CORE-MULTI-001 (MAY) the agent generates a contextId for a message without one', async () => {
    const s = await sut();
    const task = await sendTask(s, 'Message without contextId');
    expect(task.contextId).toMatch(/^.{8,}$/);
  });

  it('CORE-MULTI-001a a generated contextId is in the response', async () => {
    const s = await sut();
    const r = await call(s.url, 'SendMessage', { message: msg('Message without contextId') });
    expect(typeof r.body.result.task.contextId).toBe('string');
    expect(r.body.result.task.contextId.length).toBeGreaterThan(0);
    // two new conversations get two contexts
    const other = await sendTask(s, 'another one');
    expect(other.contextId).not.toBe(r.body.result.task.contextId);
  });

  it('CORE-MULTI-002 (MAY) a client-provided contextId is kept', async () => {
    const s = await sut();
    const task = await sendTask(s, 'Message with contextId', { contextId: 'tck-client-context-001' });
    expect(task.contextId).toBe('tck-client-context-001');
  });

  it('CORE-MULTI-002a a contextId the agent cannot take is refused with an error, and no context is generated', async () => {
    const s = await sut();
    const calls = s.model.calls;
    for (const contextId of ['x'.repeat(10_000), 'bad\u0000context']) {
      const r = await call(s.url, 'SendMessage', { message: msg('Message with client contextId', { contextId }) });
      expect(r.body.result, JSON.stringify(r.body).slice(0, 200)).toBeUndefined();
      expect(r.body).toMatchObject({ id: r.id, error: { code: -32602 } });
    }
    expect(s.model.calls).toBe(calls);
    const list = await call(s.url, 'ListTasks', {});
    expect(list.body.result.tasks).toHaveLength(0);
  });

  it('CORE-MULTI-003 each new task gets a unique server-generated taskId', async () => {
    const s = await sut();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await sendTask(s, `New task request ${i}`)).id);
    expect(ids.size).toBe(5);
    for (const id of ids) expect(id.length).toBeGreaterThan(8);
  });

  it('CORE-MULTI-004 a message naming a task that does not exist is TaskNotFoundError (-32001)', async () => {
    const s = await sut();
    const r = await call(s.url, 'SendMessage', { message: msg('Message to invalid task', { taskId: 'tck-nonexistent-multi-004' }) });
    expect(r.body).toMatchObject({ id: r.id, error: { code: -32001 } });
  });

  it('CORE-MULTI-005 the contextId is inferred from the task when only taskId is given', async () => {
    const s = await sut();
    const waiting = await waitingTask(s);
    const r = await call(s.url, 'SendMessage', { message: msg('blue', { taskId: waiting.id }) });
    expect(r.body.result.task).toMatchObject({ id: waiting.id, contextId: waiting.contextId, status: { state: 'TASK_STATE_COMPLETED' } });
    const last = r.body.result.task.history.at(-1) ?? r.body.result.task.history[0];
    expect(r.body.result.task.history.some((m: any) => m.parts?.[0]?.text === 'blue' && m.contextId === waiting.contextId)).toBe(true);
    expect(last).toBeDefined();
  });

  it('CORE-MULTI-006 a message whose contextId differs from its task\'s is refused', async () => {
    const s = await sut();
    const waiting = await waitingTask(s);
    const calls = s.model.calls;
    const r = await call(s.url, 'SendMessage', { message: msg('Mismatched context test', { taskId: waiting.id, contextId: 'tck-wrong-context' }) });
    expect(r.body.error?.code).toBeLessThan(0);
    expect(r.body.result).toBeUndefined();
    expect(s.model.calls).toBe(calls);
    // the task still waits for its answer
    expect((await call(s.url, 'GetTask', { id: waiting.id })).body.result.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
  });

  it('CORE-HIST-001 (SHOULD) GetTask with historyLength 0 returns no history', async () => {
    const s = await sut();
    const task = await sendTask(s, 'history please');
    const r = await call(s.url, 'GetTask', { id: task.id, historyLength: 0 });
    expect(r.body.result.id).toBe(task.id);
    expect(r.body.result.history ?? []).toHaveLength(0);
  });

  it('CORE-HIST-002 GetTask returns at most historyLength messages (the newest)', async () => {
    const s = await sut();
    const waiting = await waitingTask(s);
    await call(s.url, 'SendMessage', { message: msg('green', { taskId: waiting.id }) });
    const full = (await call(s.url, 'GetTask', { id: waiting.id })).body.result;
    expect(full.history.length).toBeGreaterThanOrEqual(3);
    for (const n of [1, 2]) {
      const r = await call(s.url, 'GetTask', { id: waiting.id, historyLength: n });
      expect(r.body.result.history.length).toBeLessThanOrEqual(n);
      expect(r.body.result.history.at(-1).messageId).toBe(full.history.at(-1).messageId);
    }
  });

  it('CORE-HIST-003 (SHOULD) SendMessage with historyLength 0 returns no history', async () => {
    const s = await sut();
    const task = await sendTask(s, 'no history', {}, { historyLength: 0 });
    expect(task.history ?? []).toHaveLength(0);
  });

  it('CORE-HIST-004 (MAY) the task history keeps the exchanged messages', async () => {
    const s = await sut();
    const sent = msg('remember me');
    const r = await call(s.url, 'SendMessage', { message: sent });
    const got = (await call(s.url, 'GetTask', { id: r.body.result.task.id })).body.result;
    expect(got.history.map((m: any) => m.messageId)).toContain(sent.messageId);
  });

  it('CORE-HIST-005 (SHOULD) history is in the order the messages were exchanged', async () => {
    const s = await sut();
    const first = msg('ask:first question');
    const t = (await call(s.url, 'SendMessage', { message: first })).body.result.task;
    const second = msg('the answer', { taskId: t.id });
    await call(s.url, 'SendMessage', { message: second });
    const history = (await call(s.url, 'GetTask', { id: t.id })).body.result.history as any[];
    const ids = history.map((m) => m.messageId);
    expect(ids.indexOf(first.messageId)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(second.messageId)).toBeGreaterThan(ids.indexOf(first.messageId));
    // the agent's question sits between the two user messages
    const between = history.slice(ids.indexOf(first.messageId) + 1, ids.indexOf(second.messageId));
    expect(between.some((m) => m.role === 'ROLE_AGENT')).toBe(true);
  });

  it('CORE-HIST-006 (SHOULD) a history entry has the content of the message exchanged', async () => {
    const s = await sut();
    const sent = msg('exact words, kept', { metadata: { tag: 'tck' } });
    const t = (await call(s.url, 'SendMessage', { message: sent })).body.result.task;
    const entry = (await call(s.url, 'GetTask', { id: t.id })).body.result.history.find((m: any) => m.messageId === sent.messageId);
    expect(entry).toMatchObject({ role: 'ROLE_USER', parts: [{ text: 'exact words, kept' }], metadata: { tag: 'tck' }, taskId: t.id, contextId: t.contextId });
  });
});
