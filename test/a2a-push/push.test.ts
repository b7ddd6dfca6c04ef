import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID, createHash } from 'node:crypto';
import { TaskState, type Task, type TaskPushNotificationConfig } from '@a2a-js/sdk';
import { ClientFactory as ClientFactory03 } from 'a2a-sdk-03/client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { tempDir, until } from '../helpers.js';
import { a2aNode, closeNodes, sendParams, userMessage, v1Client } from '../a2a/harness.js';
import type { A2AApi } from '../../actors/a2a/index.js';
import { Receiver, stateOf } from './receiver.js';

const receivers: Receiver[] = [];
const dirs: Array<{ cleanup: () => void }> = [];
afterEach(async () => {
  await closeNodes();
  for (const r of receivers.splice(0)) await r.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

async function receiver(): Promise<Receiver> {
  const r = await Receiver.start();
  receivers.push(r);
  return r;
}

const pushConfig = (url: string, extra: Partial<TaskPushNotificationConfig> = {}): TaskPushNotificationConfig => ({
  tenant: '', id: '', taskId: '', url, token: '', authentication: undefined, ...extra,
});

/** The node under test: the receiver's host allowed explicitly (loopback is refused otherwise). */
const pushNode = (push: Record<string, unknown> = {}, more: Record<string, unknown> = {}) =>
  a2aNode({ a2a: { push: { allowHosts: ['127.0.0.1'], initialBackoffMs: 10, maxBackoffMs: 50, ...push } }, ...more } as never);

describe('A2A push notifications (official 1.x and 0.3 clients, a real receiver)', () => {
  it('the 1.x ClientFactory creates, gets, lists and deletes push configs; the card says pushNotifications: true', async () => {
    const r = await receiver();
    const node = await pushNode();
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    expect((await client.getAgentCard()).capabilities?.pushNotifications).toBe(true);
    const task = await client.sendMessage(sendParams(userMessage('hi'))) as Task;
    const created = await client.createTaskPushNotificationConfig(pushConfig(r.url, { taskId: task.id, token: 'tok-1' }));
    expect(created.id).not.toBe('');
    expect(created).toMatchObject({ taskId: task.id, url: r.url, token: 'tok-1' });
    const named = await client.createTaskPushNotificationConfig(pushConfig(`${r.url}/2`, { taskId: task.id, id: 'second' }));
    expect(named.id).toBe('second');
    expect(await client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: created.id })).toMatchObject({ url: r.url, token: 'tok-1' });
    const list = await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' });
    expect(list.configs.map((c) => c.id).sort()).toEqual([created.id, 'second'].sort());
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'second' });
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs.map((c) => c.id)).toEqual([created.id]);
    await expect(client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'second' })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    await expect(client.createTaskPushNotificationConfig(pushConfig(r.url, { taskId: 'no-such-task' }))).rejects.toMatchObject({ name: 'TaskNotFoundError' });
  });

  it('configs are kept in LMDB: after a restart on the same data dir they are still listed', async () => {
    const r = await receiver();
    const data = tempDir('troupe-push-');
    dirs.push(data);
    const a = await pushNode({}, { id: 'push-a', dataDir: data.dir });
    a.spawnAgent({ name: 'echo' });
    const task = await (await v1Client(a.http.url, 'echo')).sendMessage(sendParams(userMessage('keep'))) as Task;
    const created = await (await v1Client(a.http.url, 'echo')).createTaskPushNotificationConfig(pushConfig(r.url, { taskId: task.id, token: 'kept' }));
    await a.close();
    const b = await pushNode({}, { id: 'push-a', dataDir: data.dir });
    b.spawnAgent({ name: 'echo' });
    const list = await (await v1Client(b.http.url, 'echo')).listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' });
    expect(list.configs).toEqual([expect.objectContaining({ id: created.id, url: r.url, token: 'kept' })]);
  });

  it('a pruned task takes its push configs with it (the configs stay bounded by maxTasks)', async () => {
    const r = await receiver();
    const node = await a2aNode({ a2a: { maxTasks: 2, push: { allowHosts: ['127.0.0.1'] } } } as never);
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const old = await client.sendMessage(sendParams(userMessage('old'))) as Task;
    await client.createTaskPushNotificationConfig(pushConfig(r.url, { taskId: old.id, id: 'a' }));
    await client.createTaskPushNotificationConfig(pushConfig(r.url, { taskId: old.id, id: 'b' }));
    const configs = node.module<A2AApi>('a2a').push!.configs;
    expect(configs.size).toBe(2);
    for (const t of ['new 1', 'new 2']) await client.sendMessage(sendParams(userMessage(t)));
    await until(() => configs.size === 0, 10_000, 'configs dropped with the task');
    await expect(client.getTask({ tenant: '', id: old.id, historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
  });

  it('each task event is POSTed in order with the token header: the task, working, the answer, completed', async () => {
    const r = await receiver();
    const node = await pushNode();
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('push me'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false,
      taskPushNotificationConfig: pushConfig(r.url, { token: 'secret-token' }),
    })) as Task;
    await until(() => r.delivered().some((b) => stateOf(b) === 'TASK_STATE_COMPLETED'), 10_000, 'completed notification');
    const bodies = r.delivered();
    expect(bodies[0].task.id).toBe(task.id);
    expect(bodies.map(stateOf).filter(Boolean)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    expect(bodies.some((b) => b.artifactUpdate?.artifact?.parts?.[0]?.text?.includes('push me'))).toBe(true);
    for (const g of r.got) {
      expect(g.headers['x-a2a-notification-token']).toBe('secret-token');
      expect(g.headers['content-type']).toBe('application/a2a+json');
      expect(g.headers.authorization).toBeUndefined();
    }
    expect(new Set(r.got.map((g) => g.headers['x-troupe-notification-id'])).size).toBe(r.got.length);
  });

  it('the 0.3 client sets, gets, lists and deletes configs, and its receiver gets 0.3-shaped events', async () => {
    const r = await receiver();
    const node = await pushNode();
    node.spawnAgent({ name: 'echo' });
    const client = await new ClientFactory03().createFromUrl(`${node.http.url}/a2a/echo/.well-known/agent-card.json`, '');
    const msg = { kind: 'message' as const, messageId: randomUUID(), role: 'user' as const, parts: [{ kind: 'text' as const, text: 'old push' }] };
    const task: any = await client.sendMessage({ message: msg, configuration: { blocking: true, pushNotificationConfig: { url: r.url, token: 'tok-03' } } });
    // 0.3 receivers get the task itself at each event (the 0.3 spec's body)
    await until(() => r.delivered().some((b) => b?.kind === 'task' && b.status?.state === 'completed'), 10_000, '0.3 completed notification');
    expect(r.delivered().every((b) => b.kind === 'task' && b.id === task.id)).toBe(true);
    expect(r.delivered().map((b) => b.status.state)[0]).toBe('submitted');
    expect(r.got[0]!.headers['x-a2a-notification-token']).toBe('tok-03');
    const set: any = await client.setTaskPushNotificationConfig({ taskId: task.id, pushNotificationConfig: { id: 'cfg-03', url: `${r.url}/other` } });
    expect(set).toMatchObject({ taskId: task.id, pushNotificationConfig: { id: 'cfg-03', url: `${r.url}/other` } });
    const got: any = await client.getTaskPushNotificationConfig({ id: task.id, pushNotificationConfigId: 'cfg-03' });
    expect(got.pushNotificationConfig.url).toBe(`${r.url}/other`);
    const list: any[] = await client.listTaskPushNotificationConfig({ id: task.id });
    expect(list.map((c) => c.pushNotificationConfig.id)).toContain('cfg-03');
    await client.deleteTaskPushNotificationConfig({ id: task.id, pushNotificationConfigId: 'cfg-03' });
    expect((await client.listTaskPushNotificationConfig({ id: task.id })).map((c: any) => c.pushNotificationConfig.id)).not.toContain('cfg-03');
    // 0.3 authentication { schemes: ['Bearer'] } with no credentials: a JWT of the node key
    const msg2 = { ...msg, messageId: randomUUID() };
    await client.sendMessage({ message: msg2, configuration: { blocking: true, pushNotificationConfig: { url: `${r.url}/jwt03`, authentication: { schemes: ['Bearer'] } } } });
    await until(() => r.got.some((g) => g.path === '/hook/jwt03' && g.json?.status?.state === 'completed'), 10_000, '0.3 signed notification');
    const signed = r.got.find((g) => g.path === '/hook/jwt03')!;
    const { payload } = await jwtVerify(String(signed.headers.authorization).replace(/^Bearer /, ''), createRemoteJWKSet(new URL(`${node.http.url}/.well-known/jwks.json`)), { audience: `${r.url}/jwt03` });
    expect(payload.request_body_sha256).toBe(createHash('sha256').update(signed.body).digest('hex'));
  });

  it('a receiver that fails first gets the same notification again after a backoff, until it takes it', async () => {
    const r = await receiver();
    r.statuses = [503, 500, 429];
    const node = await pushNode({ maxAttempts: 10 });
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    await client.sendMessage(sendParams(userMessage('retry me'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false, taskPushNotificationConfig: pushConfig(r.url),
    }));
    await until(() => r.delivered().some((b) => stateOf(b) === 'TASK_STATE_COMPLETED'), 15_000, 'completed after retries');
    // the first notification was tried four times (same id), and nothing overtook it
    const firstId = r.got[0]!.headers['x-troupe-notification-id'];
    expect(r.got.slice(0, 4).map((g) => [g.headers['x-troupe-notification-id'], g.status])).toEqual([[firstId, 503], [firstId, 500], [firstId, 429], [firstId, 200]]);
    expect(r.delivered().map(stateOf).filter(Boolean)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    const push = node.module<A2AApi>('a2a').push!;
    await until(() => push.stats().pending === 0, 10_000, 'outbox empty');
    expect(push.stats().failedAttempts).toBe(3);
    const metrics = await (await fetch(`${node.http.url}/metrics`)).text();
    expect(metrics).toMatch(/^troupe_a2a_push_failed_attempts_total 3$/m);
    expect(metrics).toMatch(/^troupe_a2a_push_pending 0$/m);
    expect(metrics).toMatch(new RegExp(`^troupe_a2a_push_delivered_total ${push.stats().delivered}$`, 'm'));
  });

  it('a receiver that refuses for good (404) is given up at once; one that keeps failing, after maxAttempts', async () => {
    const r = await receiver();
    r.fallback = 404;
    const node = await pushNode({ maxAttempts: 2 });
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    await client.sendMessage(sendParams(userMessage('nobody home'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false, taskPushNotificationConfig: pushConfig(r.url),
    }));
    const push = node.module<A2AApi>('a2a').push!;
    await until(() => push.stats().pending === 0 && push.stats().givenUp >= 3, 10_000, 'all given up');
    expect(r.got.length).toBe(push.stats().givenUp); // one attempt each
    expect(push.stats().failedAttempts).toBe(r.got.length);
    // a receiver that keeps answering 503: two attempts per notification, then given up
    r.fallback = 503;
    const before = { got: r.got.length, givenUp: push.stats().givenUp };
    await client.sendMessage(sendParams(userMessage('still nobody'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false, taskPushNotificationConfig: pushConfig(r.url),
    }));
    await until(() => push.stats().pending === 0 && push.stats().givenUp >= before.givenUp + 3, 10_000, 'given up after maxAttempts');
    const given = push.stats().givenUp - before.givenUp;
    expect(r.got.length - before.got).toBe(2 * given);
  });

  it('a notification not delivered when the node stops is delivered after a restart on the same data dir', async () => {
    const r = await receiver();
    r.fallback = 503;
    const data = tempDir('troupe-push-restart-');
    dirs.push(data);
    // a long backoff: the first run tries the first notification once, then the node stops
    const a = await pushNode({ initialBackoffMs: 600_000, maxBackoffMs: 600_000 }, { id: 'push-r', dataDir: data.dir });
    a.spawnAgent({ name: 'echo' });
    const task = await (await v1Client(a.http.url, 'echo')).sendMessage(sendParams(userMessage('survive'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false, taskPushNotificationConfig: pushConfig(r.url, { token: 'after-restart' }),
    })) as Task;
    await until(() => r.got.length >= 1, 10_000, 'first attempt');
    const pending = a.module<A2AApi>('a2a').push!.stats().pending;
    expect(pending).toBeGreaterThanOrEqual(3);
    const firstId = r.got[0]!.headers['x-troupe-notification-id'];
    await a.close();
    r.fallback = 200;
    const b = await pushNode({ initialBackoffMs: 10 }, { id: 'push-r', dataDir: data.dir });
    await until(() => r.delivered().some((x) => stateOf(x) === 'TASK_STATE_COMPLETED'), 15_000, 'delivered after restart');
    const delivered = r.got.filter((g) => g.status === 200);
    expect(delivered[0]!.headers['x-troupe-notification-id']).toBe(firstId);
    expect(delivered[0]!.json.task.id).toBe(task.id);
    expect(delivered.every((g) => g.headers['x-a2a-notification-token'] === 'after-restart')).toBe(true);
    expect(r.delivered().map(stateOf).filter(Boolean)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    await until(() => b.module<A2AApi>('a2a').push!.stats().pending === 0, 10_000, 'outbox empty');
  });

  it('authentication: given credentials are sent as is; Bearer without credentials is a JWT of the node key, verifiable with its JWKS', async () => {
    const r = await receiver();
    const node = await pushNode();
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    await client.sendMessage(sendParams(userMessage('with creds'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false,
      taskPushNotificationConfig: pushConfig(`${r.url}/creds`, { authentication: { scheme: 'Bearer', credentials: 'abc123' } }),
    }));
    await client.sendMessage(sendParams(userMessage('with jwt'), {
      acceptedOutputModes: [], historyLength: undefined, returnImmediately: false,
      taskPushNotificationConfig: pushConfig(`${r.url}/jwt`, { authentication: { scheme: 'Bearer', credentials: '' } }),
    }));
    await until(() => r.delivered().filter((b) => stateOf(b) === 'TASK_STATE_COMPLETED').length === 2, 10_000, 'both completed');
    expect(r.got.filter((g) => g.path === '/hook/creds').every((g) => g.headers.authorization === 'Bearer abc123')).toBe(true);
    const jwks = createRemoteJWKSet(new URL(`${node.http.url}/.well-known/jwks.json`));
    const signed = r.got.filter((g) => g.path === '/hook/jwt');
    expect(signed.length).toBeGreaterThanOrEqual(3);
    for (const g of signed) {
      const token = String(g.headers.authorization).replace(/^Bearer /, '');
      const { payload } = await jwtVerify(token, jwks, { audience: `${r.url}/jwt`, issuer: 'troupe:a2a-t' });
      expect(payload.request_body_sha256).toBe(createHash('sha256').update(g.body).digest('hex'));
      expect(payload.jti).toBe(g.headers['x-troupe-notification-id']);
    }
    // a forged body does not match the signed hash
    const { payload } = await jwtVerify(String(signed[0]!.headers.authorization).slice(7), jwks, { audience: `${r.url}/jwt` });
    expect(payload.request_body_sha256).not.toBe(createHash('sha256').update(`${signed[0]!.body} `).digest('hex'));
  });

  it('JWKS is public even when the gateway has API keys', async () => {
    const node = await a2aNode({ http: { port: 0, apiKeys: ['sk-push-test-key'] } });
    const res = await fetch(`${node.http.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const body = await res.json() as { keys: Array<Record<string, unknown>> };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(body.keys[0]!.d).toBeUndefined();
  });
});
