import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { V03, V1, call, msg, msg03, post, sut } from './wire.js';

afterEach(closeNodes);

const cardOf = async (url: string, headers: Record<string, string> = V1): Promise<{ res: Response; card: any }> => {
  const res = await fetch(url, { headers });
  return { res, card: res.status === 200 ? await res.json() : undefined };
};

/** A2A TCK agent card requirements (spec 4.4.1, 8.1, 8.3, 8.6, 3.1.11). */
describe('TCK agent card: discovery, protocols, structure, caching, extended card', () => {
  it('CARD-DISC-001 every agent, and the node, serves an agent card', async () => {
    const s = await sut();
    for (const url of [`${s.url}/.well-known/agent-card.json`, `${s.base}/.well-known/agent-card.json`]) {
      for (const headers of [V1, V03]) {
        const { res, card } = await cardOf(url, headers);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/json/);
        expect(card.name).toMatch(/\w/);
        expect(Array.isArray(card.skills)).toBe(true);
      }
    }
    expect((await cardOf(`${s.base}/a2a/nobody/.well-known/agent-card.json`)).res.status).toBe(404);
  });

  it('CARD-PROTO-001 the card declares the protocols the agent serves, and each one answers', async () => {
    const s = await sut();
    const { card } = await cardOf(`${s.url}/.well-known/agent-card.json`);
    const declared = card.supportedInterfaces.map((i: any) => `${i.protocolBinding} ${i.protocolVersion}`).sort();
    expect(declared).toEqual(['HTTP+JSON 0.3', 'HTTP+JSON 1.0', 'JSONRPC 0.3', 'JSONRPC 1.0']);
    for (const i of card.supportedInterfaces) {
      if (i.protocolBinding === 'JSONRPC' && i.protocolVersion === '1.0') {
        expect((await call(i.url, 'SendMessage', { message: msg('via 1.0') }, V1)).body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
      } else if (i.protocolBinding === 'JSONRPC') {
        expect((await call(i.url, 'message/send', { message: msg03('via 0.3') }, { 'a2a-version': i.protocolVersion })).body.result.status.state).toBe('completed');
      } else if (i.protocolVersion === '0.3') {
        // 0.3 clients add /v1 to the interface URL and send the 0.3 ProtoJSON (`content` parts)
        const r = await post(`${i.url}/v1/message:send`, { message: { messageId: `m-${Math.random()}`, role: 'ROLE_USER', content: [{ text: 'via 0.3 REST' }] } }, { 'a2a-version': i.protocolVersion });
        expect(r.status).toBe(201);
        expect(r.body.task.status.state).toBe('TASK_STATE_COMPLETED');
      } else {
        const r = await post(`${i.url}/message:send`, { message: msg('via REST') }, { 'a2a-version': i.protocolVersion });
        expect(r.status).toBe(200);
        expect(r.body.task.status.state).toBe('TASK_STATE_COMPLETED');
      }
    }
  });

  it('CARD-PROTO-002 each interface declares its transport and the URL it is reached at', async () => {
    const s = await sut();
    const { card } = await cardOf(`${s.url}/.well-known/agent-card.json`);
    for (const i of card.supportedInterfaces) {
      expect(['JSONRPC', 'HTTP+JSON']).toContain(i.protocolBinding);
      expect(i.url.startsWith(s.url)).toBe(true);
    }
    // the URL follows the host the caller used
    const viaLocalhost = s.url.replace('127.0.0.1', 'localhost');
    const other = (await cardOf(`${viaLocalhost}/.well-known/agent-card.json`)).card;
    for (const i of other.supportedInterfaces) expect(i.url.startsWith(viaLocalhost)).toBe(true);
    // the 0.3 card names its URL and transport the 0.3 way
    const legacy = (await cardOf(`${s.url}/.well-known/agent-card.json`, V03)).card;
    expect(legacy).toMatchObject({ url: s.url, preferredTransport: 'JSONRPC', protocolVersion: '0.3' });
  });

  it('CARD-STRUCT-001 the card has every required field (name, description, interfaces, capabilities, skills, version, modes)', async () => {
    const s = await sut();
    const { card } = await cardOf(`${s.url}/.well-known/agent-card.json`);
    expect(card).toMatchObject({
      name: 'echo', description: 'echoes what it is told', version: expect.stringMatching(/\S/),
      capabilities: { streaming: true },
      defaultInputModes: expect.arrayContaining(['text/plain']), defaultOutputModes: expect.arrayContaining(['text/plain']),
    });
    expect(card.supportedInterfaces.length).toBeGreaterThan(0);
    expect(Array.isArray(card.skills)).toBe(true);
    const node = (await cardOf(`${s.base}/.well-known/agent-card.json`)).card;
    expect(node.skills.length).toBeGreaterThan(0);
    for (const skill of node.skills) expect(skill).toMatchObject({ id: expect.any(String), name: expect.any(String), description: expect.any(String), tags: expect.any(Array) });
  });

  it('CARD-EXT-001 GetExtendedAgentCard needs the caller authenticated with a declared scheme (no extended card is offered)', async () => {
    const s = await sut({ http: { port: 0, apiKeys: ['sk-tck-ext-1234'] } });
    const { card } = await cardOf(`${s.url}/.well-known/agent-card.json`);
    expect(Object.keys(card.securitySchemes)).toEqual(['bearer']);
    expect(card.securitySchemes.bearer.httpAuthSecurityScheme.scheme).toBe('Bearer');
    expect((await call(s.url, 'GetExtendedAgentCard', {})).status).toBe(401);
    const authed = await call(s.url, 'GetExtendedAgentCard', {}, { ...V1, authorization: 'Bearer sk-tck-ext-1234' });
    expect(authed.body.error.code).toBe(-32004);
  });

  it('CARD-CACHE-001 (SHOULD) the card endpoints send Cache-Control with max-age', async () => {
    const s = await sut();
    for (const headers of [V1, V03]) {
      const { res } = await cardOf(`${s.url}/.well-known/agent-card.json`, headers);
      expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    }
  });

  it('CARD-CACHE-002 (SHOULD) the card endpoints send an ETag of the card, and If-None-Match gets 304', async () => {
    const s = await sut();
    for (const headers of [V1, V03]) {
      const { res } = await cardOf(`${s.url}/.well-known/agent-card.json`, headers);
      const etag = res.headers.get('etag');
      expect(etag).toMatch(/^(W\/)?".+"$/);
      // (fetch adds `cache-control: no-cache` to a conditional request unless one is set)
      const again = await fetch(`${s.url}/.well-known/agent-card.json`, { headers: { ...headers, 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
      expect(again.status).toBe(304);
    }
    const a = (await cardOf(`${s.url}/.well-known/agent-card.json`)).res.headers.get('etag');
    const b = (await cardOf(`${s.base}/.well-known/agent-card.json`)).res.headers.get('etag');
    expect(a).not.toBe(b);
  });
});
