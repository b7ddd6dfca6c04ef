import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { pickAgent } from '../../actors/a2a/router.js';
import { ManualClock } from '../../protocol/index.js';
import { tempDir } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage } from './harness.js';

afterEach(closeNodes);

const agents = [
  { name: 'writer', skills: [{ id: 'summarize', name: 'Summarize text', tags: ['summary', 'text'] }] },
  { name: 'mathematician', skills: [{ id: 'calc', name: 'Arithmetic', tags: ['math', 'numbers'] }] },
];

const homeClient = (url: string) => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ fetchImpl: fetch })], cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetch }),
})).createFromUrl(url);

describe("the node's own A2A agent", () => {
  it('picks the agent whose skill tags, names or ids the text names; ties and misses go to the first by name', () => {
    expect(pickAgent('please give me a summary of this', agents as never)).toBe('writer');
    expect(pickAgent('some math with numbers', agents as never)).toBe('mathematician');
    expect(pickAgent('nothing in particular', agents as never)).toBe('mathematician');
    expect(pickAgent('anything', [])).toBeUndefined();
  });

  it('GET /.well-known/agent-card.json is the node card with every agent\'s skills; POST /a2a routes a task by skill', async () => {
    const node = await a2aNode({ id: 'a2a-home' });
    for (const a of agents) node.spawnAgent(a);
    const res = await fetch(`${node.http.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeTruthy();
    const card = await res.json() as any;
    expect(card.name).toBe('troupe-a2a-home');
    expect(card.supportedInterfaces[0].url).toBe(`${node.http.url}/a2a`);
    expect(card.skills.map((s: any) => s.id).sort()).toEqual(['mathematician/calc', 'troupe/orchestrate', 'writer/summarize']);
    const legacy = await (await fetch(`${node.http.url}/.well-known/agent-card.json`)).json() as any;
    expect(legacy).toMatchObject({ name: 'troupe-a2a-home', url: `${node.http.url}/a2a`, protocolVersion: expect.stringMatching(/^0\.3/) });

    const client = await new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: fetch })], cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetch }),
    })).createFromUrl(node.http.url);
    const task = await client.sendMessage(sendParams(userMessage('a summary please'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(task)).toBe('[troupe-offline] You said: a summary please');
    expect(task.metadata).toMatchObject({ agent: 'writer' });
    const sums = await client.sendMessage(sendParams(userMessage('numbers and math'))) as Task;
    expect(sums.metadata).toMatchObject({ agent: 'mathematician' });
    expect((await client.getTask({ tenant: '', id: task.id, historyLength: undefined })).id).toBe(task.id);
  });

  it('with no agent on the node a routed task fails with a coded reason, stamped by the node clock', async () => {
    const clock = new ManualClock(Date.UTC(2031, 4, 6, 7, 8, 9));
    const node = await a2aNode({ id: 'a2a-empty', clock });
    const r = await fetch(`${node.http.url}/a2a`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } }),
    });
    const body = await r.json() as any;
    expect(body.result.task.status).toMatchObject({ state: 'TASK_STATE_FAILED', timestamp: '2031-05-06T07:08:09.000Z', message: { metadata: { code: 'TROUPE_ERR_A2A_AGENT_NOT_FOUND' } } });
  });

  it("a follow-up to a routed task goes to the task's agent, also after a restart", async () => {
    const { dir, cleanup } = tempDir('troupe-a2a-route-');
    try {
      // the model notes whose instructions each call carried
      const seen: string[] = [];
      const model = new CountingModel();
      const complete = model.complete.bind(model);
      model.complete = async (req) => {
        const system = req.messages.find((m) => m.role === 'system');
        seen.push(typeof system?.content === 'string' ? system.content : '');
        return complete(req);
      };
      const spawnAll = (n: { spawnAgent(a: object): unknown }) => { for (const a of agents) n.spawnAgent({ ...a, instructions: `I am ${a.name}` }); };
      const first = await a2aNode({ id: 'a2a-route', dataDir: dir, modelProvider: model });
      spawnAll(first);
      let client = await homeClient(first.http.url);
      const waiting = await client.sendMessage(sendParams(userMessage('ask:which summary format?'))) as Task;
      expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      expect(waiting.metadata).toMatchObject({ agent: 'writer' });
      await first.close();
      const second = await a2aNode({ id: 'a2a-route', dataDir: dir, modelProvider: model });
      spawnAll(second);
      client = await homeClient(second.http.url);
      // the answer names the other agent's skill: it still goes to the task's agent
      const done = await client.sendMessage(sendParams(userMessage('math numbers', { taskId: waiting.id }))) as Task;
      expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(done.metadata).toMatchObject({ agent: 'writer' });
      expect(seen).toEqual(['I am writer', 'I am writer']);
    } finally {
      await closeNodes();
      cleanup();
    }
  });
});
