import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { call, msg, sendTask, sut, type Sut } from './wire.js';

const servers: Server[] = [];
afterEach(async () => {
  await closeNodes();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface Hook {
  url: string;
  seen: Array<{ headers: Record<string, unknown>; body: any }>;
  /** The first request whose body passes the test (bounded wait). */
  waitFor(test: (body: any) => boolean): Promise<{ headers: Record<string, unknown>; body: any }>;
}

/** A webhook receiver on 127.0.0.1 that records what it is sent. */
async function webhook(): Promise<Hook> {
  const seen: Hook['seen'] = [];
  const waiters: Array<() => void> = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = Buffer.concat(chunks).toString('utf8');
    }
    seen.push({ headers: req.headers, body });
    res.writeHead(200).end();
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tck-push-webhook`;
  return {
    url,
    seen,
    async waitFor(test) {
      for (let i = 0; i < 500; i++) {
        const hit = seen.find((r) => test(r.body));
        if (hit) return hit;
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      throw new Error(`no webhook request matched (${seen.length} seen)`);
    },
  };
}

const pushSut = (): Promise<Sut> => sut({ a2a: { push: { allowHosts: ['127.0.0.1'] } } });

/** A task with a push config set up, then completed: what the webhook gets. */
async function deliver(s: Sut, hook: Hook, credentials: string): Promise<{ taskId: string }> {
  const first = await call(s.url, 'SendMessage', {
    message: msg('ask:anything else?'),
    configuration: { taskPushNotificationConfig: { id: 'tck-push-inline', url: hook.url, authentication: { scheme: 'Bearer', credentials } } },
  });
  const taskId = first.body.result.task.id;
  expect(first.body.result.task.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
  const done = await call(s.url, 'SendMessage', { message: msg('TCK trigger push notification delivery', { taskId }) });
  expect(done.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
  return { taskId };
}

const completedFor = (taskId: string) => (b: any): boolean =>
  b?.statusUpdate?.taskId === taskId && b.statusUpdate.status?.state === 'TASK_STATE_COMPLETED' || (b?.task?.id === taskId && b.task.status?.state === 'TASK_STATE_COMPLETED');

/** Push notification requirements of the TCK (spec 3.1.7 to 3.1.10, 4.3). */
describe('TCK push notifications: config CRUD and webhook delivery (JSON-RPC 1.0)', () => {
  it('PUSH-CREATE-001 CreateTaskPushNotificationConfig returns the config', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    const r = await call(s.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, id: 'tck-push-1', url: 'http://127.0.0.1:9/hook' });
    expect(r.body.result).toMatchObject({ taskId: t.id, id: 'tck-push-1', url: 'http://127.0.0.1:9/hook' });
  });

  it('PUSH-CREATE-002 a created config persists (it can be read back by its id)', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    await call(s.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, id: 'tck-push-2', url: 'http://127.0.0.1:9/hook', token: 'tok-1' });
    const got = await call(s.url, 'GetTaskPushNotificationConfig', { taskId: t.id, id: 'tck-push-2' });
    expect(got.body.result).toMatchObject({ taskId: t.id, id: 'tck-push-2', url: 'http://127.0.0.1:9/hook', token: 'tok-1' });
  });

  it('PUSH-GET-001 GetTaskPushNotificationConfig returns the config\'s details', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    const made = (await call(s.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, url: 'http://127.0.0.1:9/other', authentication: { scheme: 'Bearer', credentials: 'c' } })).body.result;
    expect(made.id).toMatch(/.+/);
    const got = await call(s.url, 'GetTaskPushNotificationConfig', { taskId: t.id, id: made.id });
    expect(got.body.result).toMatchObject({ id: made.id, taskId: t.id, url: 'http://127.0.0.1:9/other', authentication: { scheme: 'Bearer' } });
  });

  it('PUSH-GET-002 GetTaskPushNotificationConfig of a config that does not exist is an error', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    const r = await call(s.url, 'GetTaskPushNotificationConfig', { taskId: t.id, id: 'tck-nonexistent' });
    expect(r.body.result).toBeUndefined();
    expect(r.body.error.code).toBeLessThan(0);
  });

  it('PUSH-LIST-001 ListTaskPushNotificationConfigs includes the created configs', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    for (const id of ['a', 'b']) await call(s.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, id: `tck-${id}`, url: `http://127.0.0.1:9/${id}` });
    const r = await call(s.url, 'ListTaskPushNotificationConfigs', { taskId: t.id });
    expect(r.body.result.configs.map((c: any) => c.id).sort()).toEqual(['tck-a', 'tck-b']);
  });

  it('PUSH-DEL-001 DeleteTaskPushNotificationConfig removes the config', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    await call(s.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, id: 'tck-del', url: 'http://127.0.0.1:9/hook' });
    const del = await call(s.url, 'DeleteTaskPushNotificationConfig', { taskId: t.id, id: 'tck-del' });
    expect(del.body.error).toBeUndefined();
    expect((await call(s.url, 'GetTaskPushNotificationConfig', { taskId: t.id, id: 'tck-del' })).body.error.code).toBeLessThan(0);
    expect((await call(s.url, 'ListTaskPushNotificationConfigs', { taskId: t.id })).body.result.configs ?? []).toHaveLength(0);
  });

  it('PUSH-DEL-002 deleting a config already deleted is not an error', async () => {
    const s = await pushSut();
    const t = await sendTask(s, 'push me');
    await call(s.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, id: 'tck-twice', url: 'http://127.0.0.1:9/hook' });
    await call(s.url, 'DeleteTaskPushNotificationConfig', { taskId: t.id, id: 'tck-twice' });
    const again = await call(s.url, 'DeleteTaskPushNotificationConfig', { taskId: t.id, id: 'tck-twice' });
    expect(again.body.error).toBeUndefined();
    expect('result' in again.body).toBe(true);
  });

  it('PUSH-DELIVER-001 the webhook request carries the config\'s authentication', async () => {
    const s = await pushSut();
    const hook = await webhook();
    const { taskId } = await deliver(s, hook, 'tck-test-token-auth');
    const got = await hook.waitFor(completedFor(taskId));
    expect(got.headers.authorization).toBe('Bearer tck-test-token-auth');
    for (const r of hook.seen) expect(r.headers.authorization).toBe('Bearer tck-test-token-auth');
  });

  it('PUSH-DELIVER-002 the agent delivers to each configured webhook at least once', async () => {
    const s = await pushSut();
    const hook = await webhook();
    const other = await webhook();
    const first = await call(s.url, 'SendMessage', { message: msg('ask:two hooks?'), configuration: { taskPushNotificationConfig: { id: 'one', url: hook.url } } });
    const taskId = first.body.result.task.id;
    await call(s.url, 'CreateTaskPushNotificationConfig', { taskId, id: 'two', url: other.url });
    await call(s.url, 'SendMessage', { message: msg('go on', { taskId }) });
    await hook.waitFor(completedFor(taskId));
    await other.waitFor(completedFor(taskId));
  });

  it('PUSH-DELIVER-003 the webhook payload is a StreamResponse (JSON, one of task, message, statusUpdate, artifactUpdate)', async () => {
    const s = await pushSut();
    const hook = await webhook();
    const { taskId } = await deliver(s, hook, 'tck-payload');
    await hook.waitFor(completedFor(taskId));
    for (const r of hook.seen) {
      expect(String(r.headers['content-type'])).toMatch(/json/);
      const keys = Object.keys(r.body).filter((k) => ['task', 'message', 'statusUpdate', 'artifactUpdate'].includes(k));
      expect(keys).toHaveLength(1);
      expect(JSON.stringify(r.body)).toContain(taskId);
    }
  });
});
