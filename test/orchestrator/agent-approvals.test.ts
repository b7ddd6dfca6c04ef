import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { dagSchema, withApprovals, type Orchestrator } from '../../actors/index.js';
import { a2aNode, closeNodes, CountingModel, sendParams, userMessage } from '../a2a/harness.js';

afterEach(closeNodes);

const nodeClient = (url: string): Promise<Client> => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ fetchImpl: fetch })], cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetch }),
})).createFromUrl(url);

const NO_POLICY = { actions: new Set<string>(), defaults: { timeout_ms: 1_000, auto_action: 'reject' as const } };

const PLAN = dagSchema.parse({
  nodes: [
    { id: 'look', agent: 'research', instruction: 'look it up' },
    { id: 'post', agent: 'mailer', instruction: 'send it', inputs: ['look'], action_type: 'external_call' },
    { id: 'note', agent: 'mailer', instruction: 'note it', inputs: ['look'] },
    { id: 'own', agent: 'mailer', instruction: 'own approval', inputs: ['look'], approval: { action: 'declared', timeout_ms: 5 } },
    { id: 'save', agent: 'research', instruction: 'save it', inputs: ['look'], action_type: 'write_data' },
  ],
  edges: [{ from: 'look', to: 'post' }, { from: 'look', to: 'note' }, { from: 'look', to: 'own' }, { from: 'look', to: 'save' }],
});

describe('approvals declared in agent specs and by policy', () => {
  it('an agent spec gates its nodes (all, or those of its listed action types); a node\'s own declaration wins; the policy covers the rest', () => {
    const cards = [
      { name: 'research', skills: [] },
      { name: 'mailer', skills: [], approval: { actions: ['external_call'], autoAction: 'approve', timeoutMs: 5_000, approvers: ['ops'], why: 'mail leaves the company' } },
    ];
    const gated = withApprovals(PLAN, cards, { actions: new Set(['write_data']), defaults: { timeout_ms: 9_000, auto_action: 'escalate' } });
    const by = new Map(gated.nodes.map((n) => [n.id, n.approval]));
    expect(by.get('look')).toBeUndefined();
    expect(by.get('post')).toMatchObject({ action: 'external_call', why: 'mail leaves the company', timeout_ms: 5_000, auto_action: 'approve', approvers: ['ops'] });
    expect(by.get('note')).toBeUndefined(); // not one of the agent's action types
    expect(by.get('own')).toMatchObject({ action: 'declared', timeout_ms: 5 });
    expect(by.get('save')).toMatchObject({ action: 'write_data', timeout_ms: 9_000, auto_action: 'escalate' });
    // with no action types listed every node of the agent is gated; required: false gates none
    const every = withApprovals(PLAN, [{ name: 'research', skills: [], approval: { timeoutMs: 7 } }], NO_POLICY);
    expect(every.nodes.filter((n) => n.approval).map((n) => n.id).sort()).toEqual(['look', 'own', 'save']);
    expect(withApprovals(PLAN, [{ name: 'research', skills: [], approval: { required: false } }], NO_POLICY).nodes.filter((n) => n.approval).map((n) => n.id)).toEqual(['own']);
    // an approval that does not validate (another node's JSON) is read strictly: every node, reject
    const strict = withApprovals(PLAN, [{ name: 'mailer', skills: [], approval: { autoAction: 'maybe' } }], NO_POLICY);
    expect(strict.nodes.find((n) => n.id === 'note')!.approval).toMatchObject({ auto_action: 'reject', action: 'execute' });
  });

  it('an agent spec\'s approval (POST /api/v1/agents) suspends its workflow node: the A2A task waits in input-required until a reject', async () => {
    const model = new CountingModel();
    const node = await a2aNode({ id: 'a2a-gate', modelProvider: model });
    node.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search the web' }] });
    const bad = await fetch(`${node.http.url}/api/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mailer', approval: { autoAction: 'maybe' } }) });
    expect(bad.status).toBe(400);
    const made = await fetch(`${node.http.url}/api/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mailer', approval: { timeoutMs: 600_000, why: 'mail leaves the company' } }) });
    expect(made.status).toBe(201);
    const shown = await fetch(`${node.http.url}/api/v1/agents/mailer`).then((r) => r.json()) as any;
    expect(shown.approval).toMatchObject({ required: true, timeoutMs: 600_000, autoAction: 'reject', why: 'mail leaves the company' });
    const client = await nodeClient(node.http.url);
    const m: Message = userMessage('look it up, then mail it');
    m.parts.push({ content: { $case: 'data', value: { dag: { nodes: [{ id: 'look', agent: 'research', instruction: 'look' }, { id: 'mail', agent: 'mailer', instruction: 'mail', inputs: ['look'] }], edges: [{ from: 'look', to: 'mail' }] } } }, mediaType: 'application/json', filename: '', metadata: undefined });
    const first = await client.sendMessage(sendParams(m)) as Task;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(first.status?.message?.metadata).toMatchObject({ node: 'mail', agent: 'mailer' });
    const calls = model.calls;
    const done = await client.sendMessage(sendParams(userMessage('reject: not today', { taskId: first.id }))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(model.calls).toBe(calls);
    const s = await node.module<Orchestrator>('orchestrator').state(first.metadata!['session_id'] as string);
    expect(s.nodes['mail']).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(s.approvals[`${s.id}.mail`]).toMatchObject({ status: 'rejected', reason: 'not today', source: 'a2a' });
  });

  it('the policy on action types (approvalFor) gates a planned node the offline planner tagged write_data', async () => {
    const node = await a2aNode({ id: 'a2a-policy', modelProvider: new CountingModel(), orchestrator: { approvalFor: ['write_data'], planner: 'offline' } });
    node.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search prices' }] });
    const client = await nodeClient(node.http.url);
    const m = userMessage('search prices, then save the results');
    m.metadata = { orchestrate: true };
    const first = await client.sendMessage(sendParams(m)) as Task;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(first.status?.message?.parts.find((p) => p.content?.$case === 'data')?.content).toMatchObject({ value: { approval: { action: 'write_data', why: 'policy: write_data needs a human approval' } } });
    const done = await client.sendMessage(sendParams(userMessage('approve', { taskId: first.id }))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(done.artifacts.map((a) => a.name).sort()).toEqual(['answer', 'node:s1', 'node:s2']);
  });

  it('an approval whose spec says auth-required: the stream stays open through it and a decision over HTTP carries it on to completed', async () => {
    const node = await a2aNode({ id: 'a2a-auth', modelProvider: new CountingModel() });
    node.spawnAgent({ name: 'research', skills: [] });
    node.spawnAgent({ name: 'payer', skills: [], approval: { a2aState: 'auth-required', timeoutMs: 600_000 } });
    const client = await nodeClient(node.http.url);
    const m: Message = userMessage('look it up, then pay');
    m.parts.push({ content: { $case: 'data', value: { dag: { nodes: [{ id: 'look', agent: 'research', instruction: 'look' }, { id: 'pay', agent: 'payer', instruction: 'pay', inputs: ['look'] }], edges: [{ from: 'look', to: 'pay' }] } } }, mediaType: 'application/json', filename: '', metadata: undefined });
    const states: TaskState[] = [];
    let decided = false;
    let taskId = '';
    for await (const ev of client.sendMessageStream(sendParams(m))) {
      const p = ev.payload;
      if (p?.$case !== 'statusUpdate') continue;
      taskId = p.value.taskId;
      states.push(p.value.status!.state);
      if (p.value.status!.state === TaskState.TASK_STATE_AUTH_REQUIRED && !decided) {
        decided = true;
        const approvalId = p.value.status!.message!.metadata!['approval_id'] as string;
        const r = await fetch(`${node.http.url}/v1/approvals/${approvalId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve' }) });
        expect(r.status).toBe(200);
      }
    }
    expect(states).toContain(TaskState.TASK_STATE_AUTH_REQUIRED);
    expect(states[states.length - 1]).toBe(TaskState.TASK_STATE_COMPLETED);
    const task = await client.getTask({ tenant: '', id: taskId, historyLength: undefined });
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.artifacts.map((a) => a.name).sort()).toEqual(['answer', 'node:look', 'node:pay']);
    // blocking: the send answers with the auth-required snapshot; a (blocking) A2A follow-up decides
    const again: Message = { ...m, messageId: `${m.messageId}-2` };
    const waiting = await client.sendMessage(sendParams(again)) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_AUTH_REQUIRED);
    const done = await client.sendMessage(sendParams(userMessage('reject: no funds', { taskId: waiting.id }))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const s = await node.module<Orchestrator>('orchestrator').state(waiting.metadata!['session_id'] as string);
    expect(s.nodes['pay']).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(s.approvals[`${s.id}.pay`]).toMatchObject({ status: 'rejected', reason: 'no funds', source: 'a2a', a2a_state: 'auth-required' });
  });
});
