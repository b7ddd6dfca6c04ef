import { afterEach, describe, expect, it } from 'vitest';
import { AgentCard } from '@a2a-js/sdk';
import { ClientFactory as ClientFactory03 } from 'a2a-sdk-03/client';
import { a2aNode, closeNodes, v1Client } from './harness.js';

afterEach(closeNodes);

const skills = [{ id: 'summarize', name: 'Summarize', tags: ['text', 'summary'], description: 'makes text short', examples: ['summarize this'] }];

describe('A2A agent cards', () => {
  it('the 1.0 card (A2A-Version: 1.0) is built from the agent spec, lists JSON-RPC for 1.0 and 0.3, and carries ETag, Cache-Control and Vary', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'writer', description: 'writes things', skills });
    const url = `${node.http.url}/a2a/writer/.well-known/agent-card.json`;
    const res = await fetch(url, { headers: { 'a2a-version': '1.0' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^".+"$/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(res.headers.get('vary')).toMatch(/A2A-Version/i);
    const card = await res.json() as any;
    expect(card).toMatchObject({
      name: 'writer', description: 'writes things',
      capabilities: { streaming: true },
      defaultInputModes: ['text/plain', 'application/json'], defaultOutputModes: ['text/plain'],
      skills: [{ id: 'summarize', name: 'Summarize', description: 'makes text short', tags: ['text', 'summary'], examples: ['summarize this'] }],
    });
    expect(card.url).toBeUndefined();
    expect(card.supportedInterfaces).toEqual(expect.arrayContaining([
      expect.objectContaining({ url: `${node.http.url}/a2a/writer`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }),
      expect.objectContaining({ url: `${node.http.url}/a2a/writer`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' }),
    ]));
    expect(() => AgentCard.fromJSON(card)).not.toThrow();
    // the same ETag again is 304 with no body
    const again = await fetch(url, { headers: { 'a2a-version': '1.0', 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    // an ETag of another card is a full answer
    expect((await fetch(url, { headers: { 'a2a-version': '1.0', 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('without the header a 0.3 caller gets the 0.3 card (url, protocolVersion, preferredTransport) with its own ETag', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'writer', description: 'writes things', skills });
    const url = `${node.http.url}/a2a/writer/.well-known/agent-card.json`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const etag03 = res.headers.get('etag');
    expect(etag03).toBeTruthy();
    const card = await res.json() as any;
    expect(card).toMatchObject({
      name: 'writer', url: `${node.http.url}/a2a/writer`, preferredTransport: 'JSONRPC', protocolVersion: expect.stringMatching(/^0\.3/),
      capabilities: { streaming: true }, skills: [{ id: 'summarize', tags: ['text', 'summary'] }],
    });
    const v1 = await fetch(url, { headers: { 'a2a-version': '1.0' } });
    expect(v1.headers.get('etag')).not.toBe(etag03);
  });

  it('both official clients accept their card; an unknown agent has no card (404, coded)', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'writer', skills });
    const v1 = await v1Client(node.http.url, 'writer');
    expect((await v1.getAgentCard()).skills[0]!.tags).toEqual(['text', 'summary']);
    const old = await new ClientFactory03().createFromUrl(`${node.http.url}/a2a/writer/.well-known/agent-card.json`, '');
    expect((await old.getAgentCard()).name).toBe('writer');
    const missing = await fetch(`${node.http.url}/a2a/nobody/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } });
    expect(missing.status).toBe(404);
    expect((await missing.json() as any).error.code).toBe('TROUPE_ERR_A2A_AGENT_NOT_FOUND');
  });

  it('with API keys the card stays public and declares a bearer scheme; JSON-RPC needs the key', async () => {
    const node = await a2aNode({ http: { port: 0, apiKeys: ['sk-test-a2a-key'] } });
    node.spawnAgent({ name: 'writer', skills });
    const base = `${node.http.url}/a2a/writer`;
    const card = await (await fetch(`${base}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json() as any;
    expect(card.securitySchemes.bearer).toMatchObject({ httpAuthSecurityScheme: { scheme: 'Bearer' } });
    expect(card.securityRequirements).toEqual([{ schemes: { bearer: {} } }]);
    expect((await v1Client(node.http.url, 'writer')).protocolVersion).toBe('1.0');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } });
    const denied = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' }, body });
    expect(denied.status).toBe(401);
    const keyed = (async (input: any, init?: any) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), authorization: 'Bearer sk-test-a2a-key' } })) as typeof fetch;
    const client = await v1Client(node.http.url, 'writer', keyed);
    await expect(client.getTask({ tenant: '', id: 'x', historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
  });
});
