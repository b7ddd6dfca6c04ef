import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { V03, call, msg03, openStream, sut, type Sut } from './wire.js';

afterEach(closeNodes);

const send = async (s: Sut, text: string, extra: Record<string, unknown> = {}, configuration?: Record<string, unknown>): Promise<any> =>
  (await call(s.url, 'message/send', { message: msg03(text, extra), ...(configuration ? { configuration } : {}) }, V03)).body;

const TERMINAL_03 = new Set(['completed', 'failed', 'canceled', 'rejected']);

/**
 * The core TCK requirements again with the A2A 0.3 method names and shapes (no A2A-Version
 * header): message/send, message/stream, tasks/get, tasks/cancel, tasks/resubscribe,
 * tasks/pushNotificationConfig/*.
 */
describe('TCK core requirements over JSON-RPC 0.3 (no A2A-Version header)', () => {
  it('CORE-SEND-001 (0.3) message/send answers with a Task or a Message', async () => {
    const s = await sut();
    const r = await send(s, 'Hello from TCK');
    expect(['task', 'message']).toContain(r.result.kind);
    expect(r.result).toMatchObject({ kind: 'task', status: { state: 'completed' }, artifacts: [{ parts: [{ kind: 'text', text: 'done:Hello from TCK' }] }] });
  });

  it('CORE-SEND-002 (0.3) a message to a task in a terminal state is -32004', async () => {
    const s = await sut();
    const done = (await send(s, 'finish')).result;
    const r = await send(s, 'again', { taskId: done.id });
    expect(r.error.code).toBe(-32004);
  });

  it('CORE-GET-001 (0.3) tasks/get returns the task\'s current state', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:which?')).result;
    const r = await call(s.url, 'tasks/get', { id: t.id }, V03);
    expect(r.body.result).toMatchObject({ kind: 'task', id: t.id, contextId: t.contextId, status: { state: 'input-required' } });
  });

  it('CORE-GET-002 (0.3) tasks/get of an unknown id is -32001', async () => {
    const s = await sut();
    expect((await call(s.url, 'tasks/get', { id: 'tck-nonexistent' }, V03)).body.error.code).toBe(-32001);
  });

  it('CORE-CANCEL-001 (0.3) tasks/cancel returns the canceled task', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:wait')).result;
    const r = await call(s.url, 'tasks/cancel', { id: t.id }, V03);
    expect(r.body.result).toMatchObject({ kind: 'task', id: t.id, status: { state: 'canceled' } });
  });

  it('CORE-CANCEL-002 (0.3) tasks/cancel of a finished or canceled task is -32002', async () => {
    const s = await sut();
    const done = (await send(s, 'finish')).result;
    expect((await call(s.url, 'tasks/cancel', { id: done.id }, V03)).body.error.code).toBe(-32002);
    const t = (await send(s, 'ask:wait')).result;
    await call(s.url, 'tasks/cancel', { id: t.id }, V03);
    expect((await call(s.url, 'tasks/cancel', { id: t.id }, V03)).body.error.code).toBe(-32002);
  });

  it('CORE-CANCEL-003 (0.3) tasks/cancel of an unknown id is -32001', async () => {
    const s = await sut();
    expect((await call(s.url, 'tasks/cancel', { id: 'tck-nonexistent' }, V03)).body.error.code).toBe(-32001);
  });

  it('CORE-STREAM-003 (0.3) message/stream begins with the task and ends with a final status', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'message/stream', { message: msg03('stream it') }, V03);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    const events = (await st.rest()).map((e) => e.data);
    for (const e of events) expect(e).toMatchObject({ jsonrpc: '2.0', id: st.id });
    expect(events[0].result.kind).toBe('task');
    expect(events.at(-1).result).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(events.filter((e) => TERMINAL_03.has(e.result.status?.state))).toHaveLength(1);
  });

  it('STREAM-SUB-001 (0.3) tasks/resubscribe sends the task first', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:still there?')).result;
    const st = await openStream(s.url, 'tasks/resubscribe', { id: t.id }, V03);
    expect((await st.next())!.data.result).toMatchObject({ kind: 'task', id: t.id, status: { state: 'input-required' } });
    st.close();
  });

  it('STREAM-SUB-002 (0.3) a tasks/resubscribe stream ends at the terminal state', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:still there?')).result;
    const st = await openStream(s.url, 'tasks/resubscribe', { id: t.id }, V03);
    await st.next();
    expect((await send(s, 'yes', { taskId: t.id })).result.status.state).toBe('completed');
    const events = await st.rest();
    expect(events.at(-1)!.data.result).toMatchObject({ final: true, status: { state: 'completed' } });
  });

  it('STREAM-SUB-003 (0.3) tasks/resubscribe to a finished task is -32004 in an event stream', async () => {
    const s = await sut();
    const done = (await send(s, 'finish')).result;
    const st = await openStream(s.url, 'tasks/resubscribe', { id: done.id }, V03);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    expect((await st.rest()).map((e) => e.data.error?.code)).toEqual([-32004]);
  });

  it('STREAM-SUB-004 (0.3) tasks/resubscribe to an unknown task is -32001 in an event stream', async () => {
    const s = await sut();
    const st = await openStream(s.url, 'tasks/resubscribe', { id: 'tck-nonexistent' }, V03);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    expect((await st.rest()).map((e) => e.data.error?.code)).toEqual([-32001]);
  });

  it('CORE-MULTI-004 (0.3) a message naming an unknown task is -32001', async () => {
    const s = await sut();
    expect((await send(s, 'to nowhere', { taskId: 'tck-nonexistent' })).error.code).toBe(-32001);
  });

  it('CORE-MULTI-005 (0.3) the context is inferred from the task when only taskId is given', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:colour?')).result;
    const r = (await send(s, 'red', { taskId: t.id })).result;
    expect(r).toMatchObject({ id: t.id, contextId: t.contextId, status: { state: 'completed' } });
  });

  it('CORE-MULTI-006 (0.3) a contextId that differs from the task\'s is refused', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:colour?')).result;
    const r = await send(s, 'red', { taskId: t.id, contextId: 'tck-wrong-context' });
    expect(r.error.code).toBeLessThan(0);
  });

  it('CORE-HIST-002 (0.3) tasks/get returns at most historyLength messages', async () => {
    const s = await sut();
    const t = (await send(s, 'ask:colour?')).result;
    await send(s, 'red', { taskId: t.id });
    const r = await call(s.url, 'tasks/get', { id: t.id, historyLength: 1 }, V03);
    expect(r.body.result.history.length).toBeLessThanOrEqual(1);
  });

  it('CORE-CAP-001 (0.3) with push off, tasks/pushNotificationConfig/* are -32003', async () => {
    const s = await sut({ a2a: { push: { enabled: false } } });
    const t = (await send(s, 'x')).result;
    const ops: Array<[string, unknown]> = [
      ['tasks/pushNotificationConfig/set', { taskId: t.id, pushNotificationConfig: { url: 'https://example.com/hook' } }],
      ['tasks/pushNotificationConfig/get', { id: t.id, pushNotificationConfigId: 'x' }],
      ['tasks/pushNotificationConfig/list', { id: t.id }],
      ['tasks/pushNotificationConfig/delete', { id: t.id, pushNotificationConfigId: 'x' }],
    ];
    for (const [method, params] of ops) expect((await call(s.url, method, params, V03)).body.error?.code, method).toBe(-32003);
  });
});
