import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { searchAgents } from '../../actors/index.js';
import { cleanup, delegationNode, fakeUpstream } from './harness.js';

afterEach(cleanup);

const skill = (id: string, tags: string[], description?: string) => ({ id, name: id, tags, ...(description ? { description } : {}) });

describe('discovery of agents by skill and text', () => {
  it('searchAgents: a skill matches a tag, id or name whole; every word of q must appear; stopped agents are left out', () => {
    const agents = [
      { name: 'translator', description: 'Translates text', skills: [skill('translate', ['language', 'french'])], status: 'running' as const },
      { name: 'summarizer', description: 'Summaries of long documents', skills: [skill('summarize', ['text'])], status: 'running' as const },
      { name: 'old', description: 'Translates too', skills: [skill('translate', ['language'])], status: 'stopped' as const },
    ];
    expect(searchAgents(agents, { skill: 'LANGUAGE' }).map((a) => a.name)).toEqual(['translator']);
    expect(searchAgents(agents, { skill: 'lang' })).toEqual([]);
    expect(searchAgents(agents, { q: 'long documents' }).map((a) => a.name)).toEqual(['summarizer']);
    expect(searchAgents(agents, { q: 'documents french' })).toEqual([]);
    expect(searchAgents(agents, { skill: 'summarize', q: 'text' }).map((a) => a.name)).toEqual(['summarizer']);
    expect(searchAgents(agents, {}).map((a) => a.name)).toEqual(['translator', 'summarizer']);
  });

  it('GET /api/v1/agents?skill=&q= follows agents as they are created and removed; a2a_discover answers the same over MCP', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'translator', description: 'Translates text between languages', skills: [skill('translate', ['language', 'french'])] },
        { name: 'summarizer', description: 'Summaries of long documents', skills: [skill('summarize', ['text'])] },
      ],
    });
    const search = async (qs: string): Promise<string[]> => {
      const res = await fetch(`${node.http.url}/api/v1/agents?${qs}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { agents: Array<{ name: string }> }).agents.map((a) => a.name);
    };
    expect(await search('skill=french')).toEqual(['translator']);
    expect(await search('q=documents')).toEqual(['summarizer']);
    expect(await search('skill=text&q=long')).toEqual(['summarizer']);
    // no query: the full catalog, as before
    const all = await (await fetch(`${node.http.url}/api/v1/agents`)).json() as { agents: unknown[]; tools: string[] };
    expect(all.agents).toHaveLength(2);
    expect(all.tools).toContain('clock');
    expect((await fetch(`${node.http.url}/api/v1/agents?skill=${'x'.repeat(65)}`)).status).toBe(400);

    const created = await fetch(`${node.http.url}/api/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'poet', description: 'Writes french poems', skills: [skill('poem', ['french', 'writing'])] }),
    });
    expect(created.status).toBe(201);
    expect(await search('skill=french')).toEqual(['poet', 'translator']);
    const first = (await (await fetch(`${node.http.url}/api/v1/agents?skill=poem`)).json() as { agents: any[] }).agents[0];
    expect(first).toMatchObject({ name: 'poet', node: 'dlg-1', status: 'running', card: '/a2a/poet/.well-known/agent-card.json', skills: [{ id: 'poem', tags: ['french', 'writing'] }] });
    expect((await fetch(`${node.http.url}/api/v1/agents/poet`, { method: 'DELETE' })).status).toBe(200);
    expect(await search('skill=french')).toEqual(['translator']);

    const client = new Client({ name: 'discover-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${node.http.url}/mcp`)));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('a2a_discover');
      const found = await client.callTool({ name: 'a2a_discover', arguments: { skill: 'summarize' } });
      expect(found.isError).toBeFalsy();
      expect((found.structuredContent as { agents: Array<{ name: string }> }).agents.map((a) => a.name)).toEqual(['summarizer']);
      const bad = await client.callTool({ name: 'a2a_discover', arguments: { q: '' } });
      expect(bad.isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});
