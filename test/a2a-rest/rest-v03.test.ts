import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ClientFactory, ClientFactoryOptions, RestTransportFactory, type Client } from 'a2a-sdk-03/client';
import { until } from '../helpers.js';
import { a2aNode, closeNodes, CountingModel } from '../a2a/harness.js';
import { Receiver } from '../a2a-push/receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  await closeNodes();
  for (const r of receivers.splice(0)) await r.close();
});

/** The official 0.3.14 client, choosing the REST (HTTP+JSON) transport of the 0.3 card; `seen` records every call (method, URL, A2A-Version). */
async function rest03(baseUrl: string, agent: string, headers: Record<string, string> = {}): Promise<{ client: Client; seen: string[] }> {
  const seen: string[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    const h = { ...(init?.headers as Record<string, string> | undefined), ...headers };
    seen.push(`${init?.method ?? 'GET'} ${String(input instanceof Request ? input.url : input)} ${h['a2a-version'] ?? h['A2A-Version'] ?? '-'}`);
    return fetch(input, { ...init, headers: h });
  };
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new RestTransportFactory({ fetchImpl })],
    preferredTransports: ['HTTP+JSON'],
  }));
  const client = await factory.createFromUrl(`${baseUrl}/a2a/${agent}/.well-known/agent-card.json`, '');
  return { client, seen };
}

const msg = (text: string, extra: { taskId?: string; contextId?: string } = {}) => ({
  kind: 'message' as const, messageId: randomUUID(), role: 'user' as const, parts: [{ kind: 'text' as const, text }], ...extra,
});
const answer = (t: any): string => (t.artifacts ?? []).flatMap((a: any) => a.parts).map((p: any) => p.text ?? '').join('');

describe('A2A 0.3 REST (HTTP+JSON) binding through the official 0.3.14 client', () => {
  it('the 0.3 card keeps JSON-RPC preferred and lists HTTP+JSON in additionalInterfaces; the client sends over it without A2A-Version', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const card = await (await fetch(`${node.http.url}/a2a/echo/.well-known/agent-card.json`)).json() as any;
    expect(card).toMatchObject({ protocolVersion: '0.3', preferredTransport: 'JSONRPC', url: `${node.http.url}/a2a/echo` });
    expect(card.additionalInterfaces).toEqual([{ transport: 'HTTP+JSON', url: `${node.http.url}/a2a/echo` }]);
    const v1 = await (await fetch(`${node.http.url}/a2a/echo/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json() as any;
    expect(v1.supportedInterfaces).toContainEqual(expect.objectContaining({ protocolBinding: 'HTTP+JSON', protocolVersion: '0.3', url: `${node.http.url}/a2a/echo` }));
    expect(v1.supportedInterfaces).toContainEqual(expect.objectContaining({ protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', url: `${node.http.url}/a2a/echo/v1` }));
    const nodeCard = await (await fetch(`${node.http.url}/.well-known/agent-card.json`)).json() as any;
    expect(nodeCard.additionalInterfaces).toEqual([{ transport: 'HTTP+JSON', url: `${node.http.url}/a2a/~node` }]);

    const { client, seen } = await rest03(node.http.url, 'echo');
    const task: any = await client.sendMessage({ message: msg('over old rest') });
    expect(task).toMatchObject({ kind: 'task', status: { state: 'completed' }, metadata: { agent: 'echo' } });
    expect(answer(task)).toBe('[troupe-offline] You said: over old rest');
    expect(task.history.map((m: any) => [m.kind, m.role])).toEqual([['message', 'user'], ['message', 'agent']]);
    expect(seen).toEqual([`POST ${node.http.url}/a2a/echo/v1/message:send -`]);

    // the node's own agent routes over 0.3 REST too
    const routed = await rest03(node.http.url, '~node');
    expect(await routed.client.sendMessage({ message: msg('route me') })).toMatchObject({ kind: 'task', status: { state: 'completed' }, metadata: { agent: 'echo' } });
    expect(routed.seen.at(-1)).toBe(`POST ${node.http.url}/a2a/~node/v1/message:send -`);
  });

  it('stream, get (historyLength), and the errors the client maps: not found, not cancelable, subscribe to a finished task', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const { client, seen } = await rest03(node.http.url, 'echo');
    const events: any[] = [];
    for await (const ev of client.sendMessageStream({ message: msg('stream old rest') })) events.push(ev);
    expect(events[0]).toMatchObject({ kind: 'task', status: { state: 'submitted' } });
    expect(events[1]).toMatchObject({ kind: 'status-update', status: { state: 'working' } });
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(events.filter((e) => e.kind === 'artifact-update').map((e) => e.artifact.parts[0].text).join('')).toBe('[troupe-offline] You said: stream old rest');
    const id = events[0].id as string;
    const got: any = await client.getTask({ id });
    expect(got).toMatchObject({ kind: 'task', id, status: { state: 'completed' } });
    expect(got.history).toHaveLength(2);
    expect((await client.getTask({ id, historyLength: 1 }) as any).history).toHaveLength(1);
    await expect(client.getTask({ id: 'no-such-task' })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    await expect(client.cancelTask({ id })).rejects.toMatchObject({ name: 'TaskNotCancelableError' });
    await expect(client.resubscribeTask({ id }).next()).rejects.toMatchObject({ name: 'UnsupportedOperationError' });
    expect(seen.every((s) => s.includes('/a2a/echo/v1/') && s.endsWith(' -'))).toBe(true);
  });

  it('a follow-up on the same task continues it (input-required), and the same task reads the same through JSON-RPC 0.3', async () => {
    const model = new CountingModel();
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'asker' });
    const { client } = await rest03(node.http.url, 'asker');
    const first: any = await client.sendMessage({ message: msg('ask:which colour?') });
    expect(first).toMatchObject({ kind: 'task', status: { state: 'input-required' } });
    const done: any = await client.sendMessage({ message: msg('blue', { taskId: first.id, contextId: first.contextId }) });
    expect(done).toMatchObject({ id: first.id, status: { state: 'completed' } });
    const viaRpc = await (await fetch(`${node.http.url}/a2a/asker`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: first.id } }),
    })).json() as any;
    expect(viaRpc.result).toMatchObject({ kind: 'task', id: first.id, status: { state: 'completed' } });
  });

  it('cancel and resubscribe: a running task is canceled, another followed to its end', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const { client } = await rest03(node.http.url, 'slow');
    const t1: any = await client.sendMessage({ message: msg('one'), configuration: { blocking: false } });
    expect(['submitted', 'working']).toContain(t1.status.state);
    await until(() => model.calls === 1, 10_000, 'first run at the model');
    expect(await client.cancelTask({ id: t1.id })).toMatchObject({ id: t1.id, status: { state: 'canceled' } });
    const t2: any = await client.sendMessage({ message: msg('two'), configuration: { blocking: false } });
    await until(() => model.calls === 2, 10_000, 'second run at the model');
    const followed: any[] = [];
    const follow = (async () => { for await (const ev of client.resubscribeTask({ id: t2.id })) followed.push(ev); })();
    await until(() => followed.length >= 1, 10_000, 'resubscribed');
    release();
    await follow;
    expect(followed[0]).toMatchObject({ kind: 'task', id: t2.id });
    expect(followed.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect((await client.getTask({ id: t1.id }) as any).status.state).toBe('canceled');
  });

  it('push configs over 0.3 REST: set (201), get, list, delete; a refused URL carries its troupe code; the receiver gets 0.3 bodies', async () => {
    const r = await Receiver.start();
    receivers.push(r);
    const node = await a2aNode({ a2a: { push: { allowHosts: ['127.0.0.1'] } } } as never);
    node.spawnAgent({ name: 'echo' });
    const { client } = await rest03(node.http.url, 'echo');
    const task: any = await client.sendMessage({ message: msg('first') });
    const set: any = await client.setTaskPushNotificationConfig({ taskId: task.id, pushNotificationConfig: { id: 'cfg-r03', url: r.url, token: 'tok-r03' } });
    expect(set).toMatchObject({ taskId: task.id, pushNotificationConfig: { id: 'cfg-r03', url: r.url, token: 'tok-r03' } });
    expect(await client.getTaskPushNotificationConfig({ id: task.id, pushNotificationConfigId: 'cfg-r03' })).toMatchObject({ pushNotificationConfig: { token: 'tok-r03' } });
    expect((await client.listTaskPushNotificationConfig({ id: task.id })).map((c: any) => c.pushNotificationConfig.id)).toEqual(['cfg-r03']);
    await client.deleteTaskPushNotificationConfig({ id: task.id, pushNotificationConfigId: 'cfg-r03' });
    expect(await client.listTaskPushNotificationConfig({ id: task.id })).toEqual([]);
    await expect(client.setTaskPushNotificationConfig({ taskId: task.id, pushNotificationConfig: { url: 'http://169.254.169.254/latest' } }))
      .rejects.toThrow(/TROUPE_ERR_A2A_PUSH_URL_REFUSED/);
    const raw = await fetch(`${node.http.url}/a2a/echo/v1/tasks/${task.id}/pushNotificationConfigs`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pushNotificationConfig: { url: 'http://169.254.169.254/latest' } }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ code: -32602, message: expect.stringMatching(/^TROUPE_ERR_A2A_PUSH_URL_REFUSED: /), data: { code: 'TROUPE_ERR_A2A_PUSH_URL_REFUSED' } });
    const created = await fetch(`${node.http.url}/a2a/echo/v1/tasks/${task.id}/pushNotificationConfigs`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pushNotificationConfig: { id: 'by-path', url: r.url } }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: `tasks/${task.id}/pushNotificationConfigs/by-path` });

    const pushed: any = await client.sendMessage({ message: msg('pushed'), configuration: { blocking: true, pushNotificationConfig: { url: r.url, token: 't-03' } } });
    await until(() => r.delivered().some((b) => b?.kind === 'task' && b.id === pushed.id && b.status?.state === 'completed'), 10_000, '0.3 completed notification');
  });

  it('needs an API key like the other A2A routes when the gateway has keys (the card stays public); tasks are scoped by key', async () => {
    const node = await a2aNode({ http: { port: 0, apiKeys: ['sk-r03-key-one-1', 'sk-r03-key-two-2'] } });
    node.spawnAgent({ name: 'echo' });
    expect((await fetch(`${node.http.url}/a2a/echo/.well-known/agent-card.json`)).status).toBe(200);
    const anon = await fetch(`${node.http.url}/a2a/echo/v1/message:send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: { messageId: 'm', role: 'ROLE_USER', content: [{ text: 'x' }] } }) });
    expect(anon.status).toBe(401);
    expect((await fetch(`${node.http.url}/a2a/echo/v1/card`)).status).toBe(401);
    const one = await rest03(node.http.url, 'echo', { authorization: 'Bearer sk-r03-key-one-1' });
    const task: any = await one.client.sendMessage({ message: msg('mine') });
    expect(task.status.state).toBe('completed');
    const two = await rest03(node.http.url, 'echo', { authorization: 'Bearer sk-r03-key-two-2' });
    await expect(two.client.getTask({ id: task.id })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    expect(await one.client.getTask({ id: task.id })).toMatchObject({ id: task.id });
  });
});
