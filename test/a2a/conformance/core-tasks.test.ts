import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { TERMINAL, V1, call, msg, sendTask, sut, until, workingTask } from './wire.js';

afterEach(closeNodes);

/**
 * A2A TCK requirements of GetTask, ListTasks, CancelTask, error handling and capability
 * validation (spec 3.1.3 to 3.1.5, 3.3.2, 3.3.4), JSON-RPC 1.0 over raw HTTP.
 */
describe('TCK core: GetTask, ListTasks, CancelTask, errors, capabilities (JSON-RPC 1.0)', () => {
  it('CORE-GET-001 GetTask returns the task\'s current state, artifacts and history', async () => {
    const s = await sut();
    const { task, release } = await workingTask(s);
    const now = await call(s.url, 'GetTask', { id: task.id });
    expect(now.body.result).toMatchObject({ id: task.id, contextId: task.contextId });
    expect(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING']).toContain(now.body.result.status.state);
    release();
    await until(s, task.id, TERMINAL);
    const done = (await call(s.url, 'GetTask', { id: task.id })).body.result;
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    expect(done.artifacts[0].parts[0].text).toBe('done:slow work');
    expect(done.history[0].parts[0].text).toBe('slow work');
  });

  it('CORE-GET-002 GetTask of an id that does not exist is TaskNotFoundError (-32001)', async () => {
    const s = await sut();
    const r = await call(s.url, 'GetTask', { id: 'tck-nonexistent-get-002' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ jsonrpc: '2.0', id: r.id, error: { code: -32001, message: expect.any(String) } });
  });

  it('CORE-LIST-001 ListTasks returns only the tasks the authenticated caller may see', async () => {
    const s = await sut({ http: { port: 0, apiKeys: ['sk-tck-one-1234', 'sk-tck-two-5678'] } });
    const one = { ...V1, authorization: 'Bearer sk-tck-one-1234' };
    const two = { ...V1, authorization: 'Bearer sk-tck-two-5678' };
    const mine = (await call(s.url, 'SendMessage', { message: msg('mine', { contextId: 'tck-test-context' }) }, one)).body.result.task;
    const theirs = (await call(s.url, 'SendMessage', { message: msg('theirs', { contextId: 'tck-test-context' }) }, two)).body.result.task;
    const listOne = (await call(s.url, 'ListTasks', { contextId: 'tck-test-context' }, one)).body.result;
    const listTwo = (await call(s.url, 'ListTasks', { contextId: 'tck-test-context' }, two)).body.result;
    expect(listOne.tasks.map((t: any) => t.id)).toEqual([mine.id]);
    expect(listTwo.tasks.map((t: any) => t.id)).toEqual([theirs.id]);
    expect(listOne.totalSize).toBe(1);
    // and without a key, nothing at all
    expect((await call(s.url, 'ListTasks', {})).status).toBe(401);
  });

  it('CORE-LIST-002 ListTasks pages with a cursor (pageToken / nextPageToken)', async () => {
    const s = await sut();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await sendTask(s, `page ${i}`, { contextId: 'tck-paged' })).id);
    await sendTask(s, 'elsewhere', { contextId: 'tck-other' });
    const seen: string[] = [];
    let token = '';
    for (let page = 0; page < 5; page++) {
      const r = (await call(s.url, 'ListTasks', { contextId: 'tck-paged', pageSize: 2, ...(token ? { pageToken: token } : {}) })).body.result;
      expect(r.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...r.tasks.map((t: any) => t.id));
      token = r.nextPageToken;
      if (token === '') break;
    }
    expect(token).toBe('');
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(made));
  });

  it('CORE-LIST-003 ListTasks sorts by status timestamp, most recent first', async () => {
    const s = await sut();
    for (let i = 0; i < 4; i++) await sendTask(s, `sorted ${i}`, { contextId: 'tck-sorted' });
    const tasks = (await call(s.url, 'ListTasks', { contextId: 'tck-sorted' })).body.result.tasks as any[];
    expect(tasks).toHaveLength(4);
    const stamps = tasks.map((t) => Date.parse(t.status.timestamp));
    for (const st of stamps) expect(Number.isFinite(st)).toBe(true);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i - 1]).toBeGreaterThanOrEqual(stamps[i]!);
    // the most recently updated is first: answer an input-required task, it moves to the top
    const asked = await sendTask(s, 'ask:more?', { contextId: 'tck-sorted' });
    await sendTask(s, 'newest', { contextId: 'tck-sorted' });
    await call(s.url, 'SendMessage', { message: msg('here', { taskId: asked.id }) });
    const again = (await call(s.url, 'ListTasks', { contextId: 'tck-sorted' })).body.result.tasks as any[];
    // first, or tied (same millisecond) with those before it
    const at = again.findIndex((t) => t.id === asked.id);
    for (const t of again.slice(0, at)) expect(t.status.timestamp).toBe(again[at].status.timestamp);
    expect(Date.parse(again[at].status.timestamp)).toBeGreaterThanOrEqual(Math.max(...again.map((t) => Date.parse(t.status.timestamp))));
  });

  it('CORE-LIST-004 nextPageToken is always present, and "" on the final page; pageSize says the size used', async () => {
    const s = await sut();
    for (let i = 0; i < 3; i++) await sendTask(s, `t${i}`, { contextId: 'tck-final' });
    const all = await call(s.url, 'ListTasks', { contextId: 'tck-final', pageSize: 100 });
    expect(all.body.result).toMatchObject({ nextPageToken: '', pageSize: 100, totalSize: 3 });
    expect(all.body.result.tasks).toHaveLength(3);
    const first = await call(s.url, 'ListTasks', { contextId: 'tck-final', pageSize: 2 });
    expect(first.body.result).toMatchObject({ pageSize: 2, totalSize: 3 });
    expect(first.body.result.nextPageToken).toMatch(/.+/);
    const last = await call(s.url, 'ListTasks', { contextId: 'tck-final', pageSize: 2, pageToken: first.body.result.nextPageToken });
    expect(last.body.result).toMatchObject({ nextPageToken: '', pageSize: 2, totalSize: 3 });
    expect(last.body.result.tasks).toHaveLength(1);
    // an empty listing too, and the default page size reported when none was asked
    const none = await call(s.url, 'ListTasks', { contextId: 'tck-nothing-here' });
    expect(none.body.result).toMatchObject({ tasks: [], nextPageToken: '', totalSize: 0 });
    expect(none.body.result.pageSize).toBeGreaterThan(0);
  });

  it('CORE-LIST-005 without includeArtifacts (default false) the tasks carry no artifacts field', async () => {
    const s = await sut();
    await sendTask(s, 'with an answer', { contextId: 'tck-art' });
    for (const params of [{ contextId: 'tck-art' }, { contextId: 'tck-art', includeArtifacts: false }]) {
      const tasks = (await call(s.url, 'ListTasks', params)).body.result.tasks as any[];
      expect(tasks).toHaveLength(1);
      expect('artifacts' in tasks[0]).toBe(false);
    }
    const withArt = (await call(s.url, 'ListTasks', { contextId: 'tck-art', includeArtifacts: true })).body.result.tasks as any[];
    expect(withArt[0].artifacts[0].parts[0].text).toBe('done:with an answer');
  });

  it('CORE-CANCEL-001 CancelTask returns the task in its updated (canceled) state', async () => {
    const s = await sut();
    const { task, release } = await workingTask(s);
    const r = await call(s.url, 'CancelTask', { id: task.id });
    release();
    expect(r.body.result).toMatchObject({ id: task.id, contextId: task.contextId, status: { state: 'TASK_STATE_CANCELED' } });
    expect((await call(s.url, 'GetTask', { id: task.id })).body.result.status.state).toBe('TASK_STATE_CANCELED');
  });

  it('CORE-CANCEL-002 CancelTask of a task already completed, failed or canceled is TaskNotCancelableError (-32002)', async () => {
    const s = await sut();
    const done = await sendTask(s, 'finish');
    expect((await call(s.url, 'CancelTask', { id: done.id })).body).toMatchObject({ error: { code: -32002 } });
    const { task, release } = await workingTask(s);
    await call(s.url, 'CancelTask', { id: task.id });
    release();
    expect((await call(s.url, 'CancelTask', { id: task.id })).body).toMatchObject({ error: { code: -32002 } });
    expect((await call(s.url, 'GetTask', { id: done.id })).body.result.status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('CORE-CANCEL-003 CancelTask of an id that does not exist is TaskNotFoundError (-32001)', async () => {
    const s = await sut();
    const r = await call(s.url, 'CancelTask', { id: 'tck-nonexistent-cancel-003' });
    expect(r.body).toMatchObject({ id: r.id, error: { code: -32001 } });
  });

  it('CORE-ERR-001 errors carry a code and an actionable message', async () => {
    const s = await sut();
    const cases: Array<[string, unknown]> = [['NonExistentMethod', {}], ['GetTask', { id: 'nope' }], ['SendMessage', {}], ['CancelTask', { id: 'nope' }]];
    for (const [method, params] of cases) {
      const r = await call(s.url, method, params);
      expect(r.status).toBe(200);
      expect(Number.isInteger(r.body.error.code)).toBe(true);
      expect(typeof r.body.error.message).toBe('string');
      expect(r.body.error.message.length).toBeGreaterThan(5);
    }
  });

  it('CORE-ERR-002 input parameters are validated before anything runs', async () => {
    const s = await sut();
    const bad: unknown[] = [
      {},
      { message: 'text instead of a message' },
      { message: { role: 'ROLE_USER', parts: [{ text: 'no message id' }] } },
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [] } },
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [{}] } },
      { message: { messageId: 'm', role: 'ROLE_UNSPECIFIED', parts: [{ text: 'x' }] } },
      { message: msg('x'), configuration: { historyLength: -1 } },
    ];
    for (const params of bad) {
      const r = await call(s.url, 'SendMessage', params);
      expect(r.body.error?.code, JSON.stringify(params)).toBe(-32602);
    }
    expect((await call(s.url, 'GetTask', {})).body.error.code).toBe(-32602);
    expect((await call(s.url, 'GetTask', { id: 'x', historyLength: -3 })).body.error.code).toBe(-32602);
    expect((await call(s.url, 'ListTasks', { pageSize: 1000 })).body.error.code).toBe(-32602);
    expect((await call(s.url, 'ListTasks', { pageToken: 'not-a-token-we-gave' })).body.error.code).toBe(-32602);
    expect(s.model.calls).toBe(0);
  });

  it('CORE-CAP-001 with capabilities.pushNotifications false, push config operations are PushNotificationNotSupportedError (-32003)', async () => {
    const s = await sut({ a2a: { push: { enabled: false } } });
    const card = await (await fetch(`${s.url}/.well-known/agent-card.json`, { headers: V1 })).json() as any;
    expect(card.capabilities.pushNotifications ?? false).toBe(false);
    const task = await sendTask(s, 'push?');
    const ops: Array<[string, unknown]> = [
      ['CreateTaskPushNotificationConfig', { taskId: task.id, url: 'https://example.com/hook' }],
      ['GetTaskPushNotificationConfig', { taskId: task.id, id: 'cfg' }],
      ['ListTaskPushNotificationConfigs', { taskId: task.id }],
      ['DeleteTaskPushNotificationConfig', { taskId: task.id, id: 'cfg' }],
    ];
    for (const [method, params] of ops) expect((await call(s.url, method, params)).body.error?.code, method).toBe(-32003);
  });

  it('CORE-CAP-003 with capabilities.extendedAgentCard false, GetExtendedAgentCard is UnsupportedOperationError (-32004)', async () => {
    const s = await sut();
    const card = await (await fetch(`${s.url}/.well-known/agent-card.json`, { headers: V1 })).json() as any;
    expect(card.capabilities.extendedAgentCard ?? false).toBe(false);
    const r = await call(s.url, 'GetExtendedAgentCard', {});
    expect(r.body).toMatchObject({ id: r.id, error: { code: -32004 } });
  });
});
