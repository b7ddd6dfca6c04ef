import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Task, type TaskPushNotificationConfig } from '@a2a-js/sdk';
import { ManualClock, TroupeError } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';
import { a2aNode, closeNodes, rpc, sendParams, userMessage, v1Client } from '../a2a/harness.js';
import { a2aModule } from '../../actors/a2a/index.js';
import { PushDelivery, PushOutbox, PushSigner, addressRefusal, backoffMs, checkPushUrl, pushOptionsSchema, type PushEntry } from '../../actors/a2a/push/index.js';
import { Receiver } from './receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  await closeNodes();
  for (const r of receivers.splice(0)) await r.close();
});

const none = { allowHosts: [], allowPrivate: false };
const refusedCode = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: unknown) => (e instanceof TroupeError ? e.code : `other: ${String(e)}`));

describe('push notification URLs are checked against SSRF', () => {
  it('refuses non-http(s) schemes, credentials in the URL, loopback, private, link-local and metadata addresses', async () => {
    for (const url of [
      'ftp://example.com/hook', 'file:///etc/passwd', 'gopher://x/', 'javascript:alert(1)', 'not a url',
      'http://user:pass@example.com/hook',
      'http://127.0.0.1:9/hook', 'http://2130706433/hook', 'http://0x7f000001/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/',
      'http://10.1.2.3/', 'http://192.168.0.1/', 'http://172.16.0.1/', 'http://[fc00::1]/',
      'http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[::ffff:169.254.169.254]/',
      'http://0.0.0.0/', 'http://[::]/', 'http://224.0.0.1/', 'http://[64:ff9b::a9fe:a9fe]/',
    ]) expect(await refusedCode(checkPushUrl(url, none)), url).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
  });

  it('resolves names and checks every address: a name pointing at loopback or metadata is refused', async () => {
    expect(await refusedCode(checkPushUrl('http://localhost:8080/hook', none))).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
    const resolveTo = (...a: string[]) => async () => a;
    expect(await refusedCode(checkPushUrl('https://hooks.example.com/x', none, resolveTo('93.184.216.34')))).toBeUndefined();
    expect(await refusedCode(checkPushUrl('https://hooks.example.com/x', none, resolveTo('93.184.216.34', '169.254.169.254')))).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
    expect(await refusedCode(checkPushUrl('https://rebind.example.com/x', none, resolveTo('127.0.0.1')))).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
    expect(await refusedCode(checkPushUrl('https://nx.example.com/x', none, async () => { throw new Error('ENOTFOUND'); }))).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
  });

  it('allowPrivate opens private, loopback and link-local addresses but never metadata; allowHosts opens named hosts', async () => {
    const priv = { allowHosts: [], allowPrivate: true };
    for (const url of ['http://10.1.2.3/', 'http://127.0.0.1:9/', 'http://[::1]/', 'http://169.254.10.10/', 'http://[fd12::1]/']) {
      expect(await refusedCode(checkPushUrl(url, priv)), url).toBeUndefined();
    }
    for (const a of ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254']) expect(addressRefusal(a, priv), a).toBe('a cloud metadata address');
    expect(addressRefusal('0.0.0.0', priv)).toBe('a unspecified address');
    expect(addressRefusal('8.8.8.8', none)).toBeUndefined();
    const hosts = { allowHosts: ['127.0.0.1', '*.internal.test'], allowPrivate: false };
    expect(await refusedCode(checkPushUrl('http://127.0.0.1:9/', hosts))).toBeUndefined();
    expect(await refusedCode(checkPushUrl('http://hooks.internal.test/', hosts, async () => ['10.0.0.5']))).toBeUndefined();
    expect(await refusedCode(checkPushUrl('http://internal.test.evil.com/', hosts, async () => ['10.0.0.5']))).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
    expect(await refusedCode(checkPushUrl('http://10.0.0.1/', hosts))).toBe('TROUPE_ERR_A2A_PUSH_URL_REFUSED');
  });

  it('a refused URL is -32602 with the troupe code, over JSON-RPC 1.0 and 0.3, at create and at send', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('hi'))) as Task;
    const cfg = (url: string): TaskPushNotificationConfig => ({ tenant: '', id: '', taskId: task.id, url, token: '', authentication: undefined });
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:1/hook', 'ftp://example.com/x']) {
      await expect(client.createTaskPushNotificationConfig(cfg(url))).rejects.toThrow(/TROUPE_ERR_A2A_PUSH_URL_REFUSED/);
    }
    await expect(client.sendMessage(sendParams(userMessage('again'), { acceptedOutputModes: [], historyLength: undefined, returnImmediately: false, taskPushNotificationConfig: cfg('http://[fd00:ec2::254]/') })))
      .rejects.toThrow(/TROUPE_ERR_A2A_PUSH_URL_REFUSED/);
    const url = `${node.http.url}/a2a/echo`;
    const v1 = await rpc(url, { jsonrpc: '2.0', id: 1, method: 'CreateTaskPushNotificationConfig', params: { taskId: task.id, url: 'http://169.254.169.254/' } }, { 'a2a-version': '1.0' });
    expect(v1.json).toMatchObject({ id: 1, error: { code: -32602 } });
    expect(v1.json.error.message).toMatch(/^TROUPE_ERR_A2A_PUSH_URL_REFUSED: /);
    const v03 = await rpc(url, { jsonrpc: '2.0', id: 2, method: 'tasks/pushNotificationConfig/set', params: { taskId: task.id, pushNotificationConfig: { url: 'http://localhost/' } } });
    expect(v03.json).toMatchObject({ id: 2, error: { code: -32602 } });
    // nothing was stored
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs).toEqual([]);
  });

  it('a task holds at most maxConfigsPerTask configs', async () => {
    const r = await Receiver.start();
    receivers.push(r);
    const node = await a2aNode({ a2a: { push: { allowHosts: ['127.0.0.1'], maxConfigsPerTask: 2 } } } as never);
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('hi'))) as Task;
    const cfg = (id: string): TaskPushNotificationConfig => ({ tenant: '', id, taskId: task.id, url: r.url, token: '', authentication: undefined });
    await client.createTaskPushNotificationConfig(cfg('a'));
    await client.createTaskPushNotificationConfig(cfg('b'));
    await client.createTaskPushNotificationConfig(cfg('a')); // a replacement, not a third
    await expect(client.createTaskPushNotificationConfig(cfg('c'))).rejects.toThrow(/TROUPE_ERR_A2A_PUSH_CONFIG_LIMIT/);
  });

  it('delivery checks the address it connects to: a name that resolves to loopback at delivery is given up, nothing sent', async () => {
    const r = await Receiver.start();
    receivers.push(r);
    const clock = new ManualClock(1_000);
    const options = { ...pushOptionsSchema.parse({ initialBackoffMs: 100, maxBackoffMs: 1_000 }), allowHosts: [], allowPrivate: false };
    const outbox = new PushOutbox(undefined, 100, silent);
    const delivery = new PushDelivery(outbox, options, clock, silent, await PushSigner.open(undefined, 't'));
    const entry = (url: string, id: string): PushEntry => ({ v: 1, id, target: id, agent: 'a', taskId: 't', url, body: '{}', contentType: 'application/a2a+json', attempts: 0, nextAt: 1_000, createdAt: 1_000 });
    // as if the name had resolved to a public address when the config was saved (DNS rebinding)
    await outbox.add(entry(`http://localhost:${r.port}/hook`, 'n1'));
    await outbox.add(entry(`http://127.0.0.1:${r.port}/hook`, 'n2'));
    delivery.kick();
    await until(() => delivery.stats.givenUp === 2, 5_000, 'both given up');
    expect(r.got).toEqual([]);
    expect(outbox.size).toBe(0);
    await delivery.close();
  });
});

describe('push delivery backoff', () => {
  it('doubles from initialBackoffMs up to maxBackoffMs, jittered over the upper half', () => {
    const o = { initialBackoffMs: 1_000, maxBackoffMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(n, o, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, o, () => 0.999999))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(30, o, () => 0.999999)).toBe(60_000);
    expect(backoffMs(1_000, o, () => 0.5)).toBe(45_000);
  });

  it('an attempt the receiver does not answer ends at timeoutMs on the node clock and is retried', async () => {
    let hits = 0;
    const server = createServer(() => { hits++; }); // never answers
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const clock = new ManualClock(0);
      const options = { ...pushOptionsSchema.parse({ timeoutMs: 5_000, initialBackoffMs: 100, maxBackoffMs: 100 }), allowHosts: ['127.0.0.1'], allowPrivate: false };
      const outbox = new PushOutbox(undefined, 100, silent);
      const delivery = new PushDelivery(outbox, options, clock, silent, await PushSigner.open(undefined, 't'), () => 0.999999);
      await outbox.add({ v: 1, id: 'n', target: 'x', agent: 'a', taskId: 't', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, body: '{}', contentType: 'application/json', attempts: 0, nextAt: 0, createdAt: 0 });
      delivery.kick();
      await until(() => hits === 1, 5_000, 'request at the receiver');
      expect(delivery.stats.failedAttempts).toBe(0);
      clock.advance(5_000);
      await until(() => delivery.stats.failedAttempts === 1, 5_000, 'attempt timed out');
      clock.advance(100);
      expect(delivery.stats.attempted).toBe(2);
      await delivery.close();
    } finally {
      server.closeAllConnections();
      await new Promise((res) => server.close(res));
    }
  });

  it('retries on the node clock: nothing is tried again before the backoff has passed', async () => {
    const r = await Receiver.start();
    receivers.push(r);
    r.statuses = [503, 503];
    const clock = new ManualClock(0);
    const options = { ...pushOptionsSchema.parse({ initialBackoffMs: 1_000, maxBackoffMs: 10_000 }), allowHosts: ['127.0.0.1'], allowPrivate: false };
    const outbox = new PushOutbox(undefined, 100, pino({ level: 'silent' }));
    const delivery = new PushDelivery(outbox, options, clock, silent, await PushSigner.open(undefined, 't'), () => 0.999999);
    await outbox.add({ v: 1, id: 'n', target: 'x', agent: 'a', taskId: 't', url: r.url, body: '{"a":1}', contentType: 'application/json', attempts: 0, nextAt: 0, createdAt: 0 });
    delivery.kick();
    await until(() => delivery.stats.failedAttempts === 1, 5_000, 'first attempt');
    // attempts start synchronously when the clock fires their timer
    clock.advance(999);
    expect(delivery.stats.attempted).toBe(1);
    clock.advance(1);
    expect(delivery.stats.attempted).toBe(2);
    await until(() => delivery.stats.failedAttempts === 2, 5_000, 'second attempt at +1000 ms');
    clock.advance(1_999);
    expect(delivery.stats.attempted).toBe(2);
    clock.advance(1);
    expect(delivery.stats.attempted).toBe(3);
    await until(() => delivery.stats.delivered === 1, 5_000, 'third attempt at +2000 ms');
    expect(r.got.map((g) => g.status)).toEqual([503, 503, 200]);
    await delivery.close();
  });
});

describe('a2a.push options', () => {
  it('are validated once, when the module is made: bad values and unknown keys are TROUPE_ERR_CONFIG_INVALID', () => {
    const code = (o: unknown): string | undefined => { try { a2aModule(o as never); return undefined; } catch (e) { return (e as TroupeError).code; } };
    expect(code({ push: { allowHosts: ['127.0.0.1', '*.hooks.test'], allowPrivate: true } })).toBeUndefined();
    expect(code({ push: { initialBackoffMs: 10_000, maxBackoffMs: 5 } })).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect(code({ push: { maxAttempts: 0 } })).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect(code({ push: { allowHosts: ['http://x/'] } })).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect(code({ push: { allowHost: ['x'] } })).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect(code({ rest: 'yes' })).toBe('TROUPE_ERR_CONFIG_INVALID');
  });
});
