import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Message, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import type { Orchestrator } from '../../actors/index.js';
import { tempDir, until } from '../helpers.js';
import { a2aNode, closeNodes, CountingModel, sendParams, userMessage } from '../a2a/harness.js';
import { DIAMOND } from './helpers.js';

afterEach(closeNodes);

/** The official 1.x client of the node's own agent (its card at /.well-known/agent-card.json). */
const nodeClient = (url: string): Promise<Client> => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ fetchImpl: fetch })], cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetch }),
})).createFromUrl(url);

/** A message that carries a ready plan (a data part) beside its text. */
function planMessage(textValue: string, dag: unknown): Message {
  const m = userMessage(textValue);
  m.parts.push({ content: { $case: 'data', value: { dag } }, mediaType: 'application/json', filename: '', metadata: undefined });
  return m;
}

/** draft -> publish (needs approval) */
const GATED = {
  nodes: [
    { id: 'draft', agent: 'research', instruction: 'draft it' },
    { id: 'publish', agent: 'writer', instruction: 'publish it', inputs: ['draft'], approval: { action: 'external_call', why: 'posts publicly', timeout_ms: 600_000 } },
  ],
  edges: [{ from: 'draft', to: 'publish' }],
  output: 'publish',
};

async function setup() {
  const model = new CountingModel();
  const node = await a2aNode({ id: 'a2a-wf', modelProvider: model });
  node.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search the web' }] });
  node.spawnAgent({ name: 'writer', skills: [{ id: 'summarize', name: 'summarize results' }] });
  const client = await nodeClient(node.http.url);
  return { node, model, client, orch: node.module<Orchestrator>('orchestrator') };
}

const textOfMessage = (m: Message | undefined): string => (m?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
/** Upstream calls whose prompt starts with `prefix` (the CountingModel answers `done:<prompt>`). */
const publishes = (task: Task | undefined): number => (task?.artifacts ?? []).filter((a) => a.name === 'node:publish').length;

describe('the A2A view of a workflow (POST /a2a)', () => {
  it('a complex request becomes a session: attributed status updates and one artifact per node stream over message/stream, then the answer', async () => {
    const { node, client, model } = await setup();
    const events: any[] = [];
    for await (const ev of client.sendMessageStream(sendParams(planMessage('research both sides, then write it up', DIAMOND)))) {
      const p = (ev as StreamResponse).payload;
      if (p) events.push({ kind: p.$case, ...(p.value as object) });
    }
    expect(events[0].kind).toBe('task');
    const statuses = events.filter((e) => e.kind === 'statusUpdate');
    const artifacts = events.filter((e) => e.kind === 'artifactUpdate');
    // attributed: the status message's metadata names the event, node and agent
    const meta = (s: any): any => s?.status?.message?.metadata ?? {};
    const started = statuses.filter((s) => meta(s).event === 'node.started').map((s) => `${meta(s).node}@${meta(s).agent}`);
    for (const s of statuses) expect(s.metadata).toMatchObject({ session_id: expect.stringMatching(/^ses_/) });
    expect(started[0]).toBe('a@research');
    expect(started.slice(1, 3).sort()).toEqual(['b@research', 'c@research']);
    expect(started[3]).toBe('d@writer');
    // every node's output is an artifact named for it, attributed to its agent; the answer comes last
    expect(artifacts.map((a) => a.artifact.name)).toEqual(expect.arrayContaining(['node:a', 'node:b', 'node:c', 'node:d']));
    for (const a of artifacts.filter((x) => x.artifact.name.startsWith('node:'))) expect(a.artifact.metadata).toMatchObject({ node: a.artifact.name.slice(5) });
    const last = artifacts[artifacts.length - 1];
    expect(last.artifact.name).toBe('answer');
    // ordered: a node's output arrives before anything that depends on it starts
    const at = (pred: (e: any) => boolean): number => events.findIndex(pred);
    expect(at((e) => e?.artifact?.name === 'node:a')).toBeLessThan(at((e) => meta(e).event === 'node.started' && meta(e).node === 'b'));
    expect(at((e) => e?.artifact?.name === 'node:b')).toBeLessThan(at((e) => meta(e).event === 'node.started' && meta(e).node === 'd'));
    const end = statuses[statuses.length - 1];
    expect(end.status.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const sessionId = end.metadata.session_id as string;
    expect(sessionId).toMatch(/^ses_/);
    // the same workflow through the sessions API: each node's A2A task id is in the attributed stream too
    const view = await fetch(`${node.http.url}/v1/sessions/${sessionId}`).then((r) => r.json()) as any;
    expect(view.status).toBe('completed');
    expect(last.artifact.parts[0].content.value).toBe(view.answer);
    const streamedTasks = statuses.filter((s) => meta(s).event === 'node.task').map((s) => meta(s).task_id).sort();
    expect(view.dag.nodes.map((n: any) => n.task_id).sort()).toEqual(streamedTasks);
    expect(model.calls).toBe(4);
    // the task is stored with the session's id
    const task = await client.getTask({ tenant: '', id: end.taskId, historyLength: undefined });
    expect(task.metadata).toEqual({ workflow: true, session_id: sessionId });
    expect(task.artifacts.map((a) => a.name).sort()).toEqual(['answer', 'node:a', 'node:b', 'node:c', 'node:d']);
  });

  it('a simple request still goes to the agent whose skills fit', async () => {
    const { client } = await setup();
    const task = await client.sendMessage(sendParams(userMessage('summarize results'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.metadata).toMatchObject({ agent: 'writer' });
  });

  it('an approval makes the task input-required; a follow-up with the decision resumes it, and the node runs once', async () => {
    const { node, client, orch } = await setup();
    const first = await client.sendMessage(sendParams(planMessage('draft and publish', GATED))) as Task;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const sessionId = first.metadata!['session_id'] as string;
    const approvalId = `${sessionId}.publish`;
    expect(first.status?.message?.metadata).toMatchObject({ approval_id: approvalId, node: 'publish', agent: 'writer' });
    const dataPart = first.status?.message?.parts.find((p) => p.content?.$case === 'data')?.content as { value: any };
    expect(dataPart.value.approval).toMatchObject({ id: approvalId, action: 'external_call', why: 'posts publicly', status: 'pending' });
    expect(first.artifacts.map((a) => a.name)).toEqual(['node:draft']);
    // the session says the same
    expect((await orch.state(sessionId)).status).toBe('waiting_approval');
    // a message with no decision in it asks again
    const unclear = await client.sendMessage(sendParams(userMessage('hmm, not sure', { taskId: first.id }))) as Task;
    expect(unclear.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(textOfMessage(unclear.status?.message)).toMatch(/^No decision could be read/);
    const done = await client.sendMessage(sendParams(userMessage('approve: looks right', { taskId: first.id }))) as Task;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(publishes(done)).toBe(1);
    const approval = await fetch(`${node.http.url}/v1/approvals/${approvalId}`).then((r) => r.json()) as any;
    expect(approval).toMatchObject({ status: 'approved', decision: 'approve', reason: 'looks right', source: 'a2a', decided_by: 'a2a' });
    const s = await orch.state(sessionId);
    expect(s.nodes['publish']).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('a decision over HTTP resumes the waiting A2A task; a later A2A follow-up is refused', async () => {
    const { node, client } = await setup();
    const first = await client.sendMessage(sendParams(planMessage('draft and publish', GATED))) as Task;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const approvalId = `${first.metadata!['session_id']}.publish`;
    const r = await fetch(`${node.http.url}/v1/approvals/${approvalId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'h1' }, body: JSON.stringify({ decision: 'modify', input: 'publish a short version' }) });
    expect(r.status).toBe(200);
    let task: Task | undefined;
    await until(async () => {
      task = await client.getTask({ tenant: '', id: first.id, historyLength: undefined });
      return task.status?.state === TaskState.TASK_STATE_COMPLETED;
    }, 10_000, 'the A2A task completed after the HTTP decision');
    expect(publishes(task)).toBe(1);
    expect(textOfMessage(task!.status?.message)).toBe('done:publish a short version\n\n[output of draft]\ndone:draft it');
    // the history says how it went on: the decision, made elsewhere
    expect(task!.history.map(textOfMessage)).toContain(`approval ${approvalId}: modified by api (http)`);
    await expect(client.sendMessage(sendParams(userMessage('reject', { taskId: first.id })))).rejects.toMatchObject({ name: 'UnsupportedOperationError' });
  });

  it('50 concurrent decisions on one approval, HTTP and A2A follow-ups mixed, give exactly one effect', async () => {
    const { node, client, orch, model } = await setup();
    const first = await client.sendMessage(sendParams(planMessage('draft and publish', GATED))) as Task;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const sessionId = first.metadata!['session_id'] as string;
    const approvalId = `${sessionId}.publish`;
    const callsBefore = model.calls;
    const decisions = ['approve', 'reject', 'modify'] as const;
    type Outcome = { via: 'http' | 'a2a'; i: number; status: 'ok' | 'replay' | 'refused'; body?: any; error?: any };
    const runs = Array.from({ length: 50 }, async (_v, i): Promise<Outcome> => {
      const d = decisions[i % 3]!;
      if (i % 2 === 0) {
        const res = await fetch(`${node.http.url}/v1/approvals/${approvalId}`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `key-${i % 4}`, 'x-troupe-user': `user-${i}` },
          body: JSON.stringify({ decision: d, ...(d === 'modify' ? { input: `variant ${i}` } : {}) }),
        });
        const body = await res.json() as any;
        return { via: 'http', i, status: res.status === 200 ? 'ok' : 'refused', body };
      }
      const m: Message = { ...userMessage(''), messageId: randomUUID(), taskId: first.id, role: Role.ROLE_USER, parts: [{ content: { $case: 'data', value: { decision: d, ...(d === 'modify' ? { input: `variant ${i}` } : {}) } }, mediaType: 'application/json', filename: '', metadata: undefined }] };
      try {
        return { via: 'a2a', i, status: 'ok', body: await client.sendMessage(sendParams(m)) };
      } catch (error) {
        return { via: 'a2a', i, status: 'refused', error };
      }
    });
    const outcomes = await Promise.all(runs);
    // the session took exactly one decision: the approval's, and one run of the node at most
    const approval = await fetch(`${node.http.url}/v1/approvals/${approvalId}`).then((r) => r.json()) as any;
    expect(['approved', 'rejected', 'modified']).toContain(approval.status);
    await until(async () => (await orch.state(sessionId)).status === 'completed', 10_000, 'the session completed');
    const s = await orch.state(sessionId);
    expect(s.nodes['publish']!.attempts).toBe(approval.status === 'rejected' ? 0 : 1);
    expect(model.calls - callsBefore).toBe(approval.status === 'rejected' ? 0 : 1);
    // HTTP: the winner's key replays the winner's record; every other HTTP decision is a 409 naming it
    const http = outcomes.filter((o) => o.via === 'http');
    for (const o of http) {
      if (o.status === 'ok') expect(o.body).toMatchObject({ id: approvalId, status: approval.status, decided_by: approval.decided_by });
      else expect(o.body.error).toMatchObject({ code: 'TROUPE_ERR_APPROVAL_CONFLICT' });
    }
    // A2A: one follow-up continued the task (applied or told it lost); the others were refused (-32004)
    const a2a = outcomes.filter((o) => o.via === 'a2a');
    const continued = a2a.filter((o) => o.status === 'ok');
    expect(continued.length).toBeLessThanOrEqual(1);
    for (const o of a2a.filter((x) => x.status === 'refused')) expect(o.error).toMatchObject({ name: 'UnsupportedOperationError' });
    const winners = (approval.source === 'a2a' ? 1 : 0) + http.filter((o) => o.status === 'ok' && o.body.decided_by === `user-${o.i}`).length;
    expect(winners).toBe(1);
    // the task ends as the session did, with the node's output once at most
    let task: Task | undefined;
    await until(async () => {
      task = await client.getTask({ tenant: '', id: first.id, historyLength: undefined });
      return task.status?.state === TaskState.TASK_STATE_COMPLETED;
    }, 10_000, 'the A2A task completed');
    expect(publishes(task)).toBe(approval.status === 'rejected' ? 0 : 1);
  });

  it('after a restart, a decision over HTTP still resumes the A2A task that waited for it', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-a2a-');
    try {
      const model = new CountingModel();
      const start = async () => {
        const node = await a2aNode({ id: 'a2a-wf-r', modelProvider: model, dataDir: dir });
        node.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search the web' }] });
        node.spawnAgent({ name: 'writer', skills: [{ id: 'summarize', name: 'summarize results' }] });
        return { node, client: await nodeClient(node.http.url) };
      };
      const one = await start();
      const first = await one.client.sendMessage(sendParams(planMessage('draft and publish', GATED))) as Task;
      expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      const sessionId = first.metadata!['session_id'] as string;
      await one.node.close();

      const two = await start();
      // the session knows its A2A task
      const view = await fetch(`${two.node.http.url}/v1/sessions/${sessionId}`).then((r) => r.json()) as any;
      expect(view).toMatchObject({ status: 'waiting_approval', a2a_task_id: first.id });
      expect((await two.client.getTask({ tenant: '', id: first.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      const r = await fetch(`${two.node.http.url}/v1/approvals/${sessionId}.publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve' }) });
      expect(r.status).toBe(200);
      let task: Task | undefined;
      await until(async () => {
        task = await two.client.getTask({ tenant: '', id: first.id, historyLength: undefined });
        return task.status?.state === TaskState.TASK_STATE_COMPLETED;
      }, 10_000, 'the A2A task completed after the restart and the HTTP decision');
      expect(publishes(task)).toBe(1);
      expect(task!.artifacts.map((a) => a.name).sort()).toEqual(['answer', 'node:draft', 'node:publish']);
      expect(model.calls).toBe(2);
    } finally {
      await closeNodes();
      cleanup();
    }
  });

  it('CancelTask on a running workflow task cancels its session and the running node', async () => {
    const { client, orch, model } = await setup();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const m = planMessage('slow work', { nodes: [{ id: 'slow', agent: 'research', instruction: 'take your time' }] });
    const started = await client.sendMessage(sendParams(m, { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true })) as Task;
    let sessionId: string | undefined;
    await until(async () => {
      const t = await client.getTask({ tenant: '', id: started.id, historyLength: undefined });
      sessionId = t.metadata?.['session_id'] as string | undefined;
      return sessionId !== undefined && (await orch.state(sessionId)).nodes['slow']?.status === 'running';
    }, 10_000, 'the node runs');
    const cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const s = await orch.state(sessionId!);
    expect(s.status).toBe('cancelled');
    release();
  });

  it('a workflow that cannot be planned fails the task with the planner\'s code', async () => {
    const node = await a2aNode({ id: 'a2a-none', modelProvider: new CountingModel(), orchestrator: { planner: 'offline' } });
    const client = await nodeClient(node.http.url);
    const m = userMessage('research this, then write that');
    m.metadata = { orchestrate: true };
    const task = await client.sendMessage(sendParams(m)) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(task.metadata).toMatchObject({ workflow: true, code: 'TROUPE_ERR_PLAN_NO_AGENTS' });
  });

  it('a graceful stop fails the task that follows a running session as interrupted; the session completes after the restart', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-a2a-stop-');
    try {
      const start = async (model: CountingModel) => {
        const node = await a2aNode({ id: 'a2a-wf-s', modelProvider: model, dataDir: dir });
        node.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search the web' }] });
        return { node, client: await nodeClient(node.http.url), orch: node.module<Orchestrator>('orchestrator') };
      };
      const held = new CountingModel();
      held.gate = new Promise<void>(() => undefined);
      const one = await start(held);
      const m = planMessage('slow work', { nodes: [{ id: 'slow', agent: 'research', instruction: 'take your time' }] });
      const started = await one.client.sendMessage(sendParams(m, { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true })) as Task;
      let sessionId: string | undefined;
      await until(async () => {
        const t = await one.client.getTask({ tenant: '', id: started.id, historyLength: undefined });
        sessionId = t.metadata?.['session_id'] as string | undefined;
        return sessionId !== undefined && (await one.orch.state(sessionId)).nodes['slow']?.status === 'running';
      }, 10_000, 'the node runs');
      await one.node.close();

      const two = await start(new CountingModel());
      const task = await two.client.getTask({ tenant: '', id: started.id, historyLength: undefined });
      expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED);
      expect(task.metadata).toMatchObject({ session_id: sessionId, code: 'TROUPE_ERR_A2A_TASK_INTERRUPTED' });
      expect(textOfMessage(task.status?.message)).toContain(`following session ${sessionId}`);
      await until(async () => (await two.orch.state(sessionId!)).status === 'completed', 10_000, 'the session completed after the restart');
    } finally {
      await closeNodes();
      cleanup();
    }
  });
});
