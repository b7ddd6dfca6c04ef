import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { THREADS_DB } from '../../actors/a2a/external/index.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';

const DATA_KEY = 'a-data-key-of-some-length';
let fixture: TroupeProcess;
const dirs: Array<() => void> = [];

beforeAll(async () => {
  fixture = await startFixture('a2a-external-server.mjs', ['0']);
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await fixture?.kill();
  for (const d of dirs) d();
});

async function node(dataDir: string, options: { dataKey?: string; allowLoopback?: boolean; agents?: Array<{ name: string; a2a: { url: string } }> } = {}): Promise<RunningNode & { http: { url: string } }> {
  return await startNode({
    id: 'ext-durable', logger: silent, http: { port: 0 }, model: { provider: 'offline' }, dataDir,
    externalAgents: { allowLoopback: options.allowLoopback ?? true, allowApiAgents: true },
    ...(options.dataKey ? { dataKey: options.dataKey } : {}),
    ...(options.agents ? { agents: options.agents } : {}),
  }) as RunningNode & { http: { url: string } };
}

const create = (base: string, spec: unknown) => fetch(`${base}/api/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });

describe('a durable external agent', () => {
  it('keeps its headers sealed at rest and sends them again after a restart', async () => {
    const { dir, cleanup } = tempDir('troupe-ext-');
    dirs.push(cleanup);
    const spec = { name: 'sealed', a2a: { url: fixture.ready.http, headers: { authorization: 'Bearer sealed-token' } } };
    const first = await node(dir, { dataKey: DATA_KEY });
    try {
      expect((await create(first.http.url, spec)).status).toBe(201);
      const stored = JSON.stringify(first.store!.db('agents').get('sealed'));
      expect(stored).toContain(fixture.ready.http);
      expect(stored).not.toContain('sealed-token');
      const info = await (await fetch(`${first.http.url}/api/v1/agents/sealed`)).json() as Record<string, unknown>;
      expect(info['a2a']).toEqual({ url: fixture.ready.http });
      expect(JSON.stringify(info)).not.toContain('sealed-token');
    } finally {
      await first.close();
    }
    const second = await node(dir, { dataKey: DATA_KEY });
    try {
      const res = await fetch(`${second.http.url}/api/v1/agents/sealed/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'after restart' }) });
      expect(((await res.json()) as { result: { content: string } }).result.content).toBe('echo#1: after restart');
      const calls = await (await fetch(`${fixture.ready.http}/calls`)).json() as Array<{ text: string; authorization: string | null }>;
      expect(calls.at(-1)).toMatchObject({ text: 'after restart', authorization: 'Bearer sealed-token' });
      // removing the agent drops its remote threads
      const threads = () => [...second.store!.db(THREADS_DB).getKeys({ start: ['sealed'], end: ['sealed', '\uffff'] })].length;
      expect(threads()).toBe(1);
      expect((await fetch(`${second.http.url}/api/v1/agents/sealed`, { method: 'DELETE' })).status).toBe(200);
      await until(() => threads() === 0, 10_000, 'the removed agent\'s threads dropped');
    } finally {
      await second.close();
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('answers the remote task that asked a question before a restart, with the conversation it belongs to', async () => {
    const { dir, cleanup } = tempDir('troupe-ext-');
    dirs.push(cleanup);
    const agents = [{ name: 'asker', a2a: { url: fixture.ready.http } }];
    const runOn = async (base: string, input: string): Promise<string> => {
      const res = await fetch(`${base}/api/v1/agents/asker/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, conversation_id: 'waiting' }) });
      return ((await res.json()) as { result: { content: string } }).result.content;
    };
    const first = await node(dir, { agents });
    try {
      expect(await runOn(first.http.url, 'ask me something')).toBe('what is your name?');
    } finally {
      await first.close();
    }
    const second = await node(dir, { agents });
    try {
      expect(await runOn(second.http.url, 'Grace')).toBe('hello Grace');
      const calls = await (await fetch(`${fixture.ready.http}/calls`)).json() as Array<{ text: string; taskId: string }>;
      expect(calls.at(-1)!.taskId).not.toBe('');
    } finally {
      await second.close();
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('is refused with headers on a node without a data key, and on loopback when the node does not allow it', async () => {
    const { dir, cleanup } = tempDir('troupe-ext-');
    dirs.push(cleanup);
    const n = await node(dir, { allowLoopback: false });
    try {
      const noKey = await create(n.http.url, { name: 'nokey', a2a: { url: 'https://agents.example/', headers: { authorization: 'Bearer x' } } });
      expect(noKey.status).toBe(400);
      expect(((await noKey.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_AGENT_INVALID_SPEC');
      const local = await create(n.http.url, { name: 'local', a2a: { url: fixture.ready.http } });
      expect(local.status).toBe(400);
      expect(((await local.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED');
    } finally {
      await n.close();
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});
