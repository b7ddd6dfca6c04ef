import { createServer } from 'node:http';
import { AgentCard } from '@a2a-js/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS_MODULE, agentsModule, gatewayModule, startNode, type RunningNode } from '../../index.js';
import type { AgentRegistry } from '../../actors/agent/index.js';
import { silent } from '../helpers.js';

type Node = RunningNode & { http: { url: string } };
let remote: Node;
let local: Node;

beforeAll(async () => {
  // another troupe deployment, reached only over A2A (no cluster link between the two)
  remote = await startNode({ id: 'remote', logger: silent, http: { port: 0 }, model: { provider: 'offline' }, agents: [{ name: 'helper', description: 'a remote helper' }] }) as Node;
  local = await startNode({
    id: 'local', logger: silent, http: { port: 0 }, model: { provider: 'offline' },
    externalAgents: { allowLoopback: true },
    agents: [{ name: 'bridge', a2a: { url: `${remote.http.url}/a2a/helper` } }],
  }) as Node;
});

afterAll(async () => {
  await local?.close();
  await remote?.close();
});

describe('a proxy of an agent of another troupe deployment, over A2A', () => {
  it('answers as the remote agent does, blocking and streamed, through the openai client', async () => {
    const direct = new OpenAI({ baseURL: `${remote.http.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const proxied = new OpenAI({ baseURL: `${local.http.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const question = 'what is troupe?';
    const want = (await direct.chat.completions.create({ model: 'helper', messages: [{ role: 'user', content: question }] })).choices[0]!.message.content;
    expect(want).toBeTruthy();
    const got = await proxied.chat.completions.create({ model: 'bridge', messages: [{ role: 'user', content: question }] });
    expect(got.choices[0]!.message.content).toBe(want);
    const stream = await proxied.chat.completions.create({ model: 'bridge', stream: true, messages: [{ role: 'user', content: question }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe(want);
  });

  it('refuses external agents created through the API unless the node allows them (allowApiAgents)', async () => {
    const res = await fetch(`${local.http.url}/api/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sneaky', a2a: { url: `${remote.http.url}/a2a/helper` } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'TROUPE_ERR_AGENT_INVALID_SPEC' } });
    expect((await fetch(`${local.http.url}/api/v1/agents/sneaky`)).status).toBe(404);
  });

  it('lists the proxy among the models and describes it with its remote url, never headers', async () => {
    const models = await (await fetch(`${local.http.url}/v1/models`)).json() as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toContain('bridge');
    const info = await (await fetch(`${local.http.url}/api/v1/agents/bridge`)).json() as Record<string, unknown>;
    expect(info).toMatchObject({ name: 'bridge', model: 'bridge', provider: { name: 'a2a', offline: false }, a2a: { url: `${remote.http.url}/a2a/helper` } });
  });
});

describe('an external agent on a node without the a2a-external module', () => {
  it('is spawned, and its runs fail with TROUPE_ERR_NODE_MODULE_MISSING instead of reaching anywhere', async () => {
    const bare = await startNode({
      id: 'bare', logger: silent, http: false,
      modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' }, agents: [{ name: 'far', a2a: { url: 'https://agents.example/' } }] })],
    });
    try {
      const agents = bare.module<AgentRegistry>(AGENTS_MODULE);
      expect(agents.get('far')).toMatchObject({ name: 'far', a2a: { url: 'https://agents.example/' } });
      await expect(agents.run('far', { input: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ code: 'TROUPE_ERR_NODE_MODULE_MISSING' });
    } finally {
      await bare.close();
    }
  });
});

describe('a remote card that names an endpoint the outbound policy refuses', () => {
  it('is never called: the run fails with TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED', async () => {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const card = {
        name: 'lure', description: 'points elsewhere', version: '1', provider: undefined, documentationUrl: undefined, iconUrl: undefined,
        supportedInterfaces: [{ url: 'http://169.254.169.254/rpc', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
        capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
        securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'], skills: [], signatures: [],
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(AgentCard.toJSON(card as never)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const n = await startNode({ id: 'lured', logger: silent, http: false, model: { provider: 'offline' }, externalAgents: { allowLoopback: true }, agents: [{ name: 'lured', a2a: { url } }] });
    try {
      await expect(n.module<AgentRegistry>(AGENTS_MODULE).run('lured', { input: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
      expect(hits).toEqual(['/.well-known/agent-card.json']);
    } finally {
      await n.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
