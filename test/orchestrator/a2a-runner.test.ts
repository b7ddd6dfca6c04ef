import { afterEach, describe, expect, it } from 'vitest';
import { TaskState } from '@a2a-js/sdk';
import { ServerCallContext } from '@a2a-js/sdk/server';
import { ORCHESTRATOR_A2A_USER, type A2AApi, type Orchestrator } from '../../actors/index.js';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel } from '../a2a/harness.js';
import { DIAMOND, untilSession } from './helpers.js';

afterEach(closeNodes);

const orchCtx = (): ServerCallContext => new ServerCallContext({ user: ORCHESTRATOR_A2A_USER, requestedVersion: '1.0' });

async function setup(model = new CountingModel()) {
  const node = await a2aNode({ modelProvider: model });
  node.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search the web' }] });
  node.spawnAgent({ name: 'writer', skills: [{ id: 'summarize', name: 'summarize results' }] });
  return { node, model, orch: node.module<Orchestrator>('orchestrator'), a2a: node.module<A2AApi>('a2a') };
}

describe('workflow nodes as A2A tasks', () => {
  it('runs each node as an A2A task of its agent: the task ids are journaled and shown by GET /v1/sessions/:id', async () => {
    const { node, orch, a2a, model } = await setup();
    const id = await orch.start('go', { dag: DIAMOND });
    const done = await orch.attach(id);
    expect(done.status).toBe('completed');
    expect(model.calls).toBe(4);
    const view = await fetch(`${node.http.url}/v1/sessions/${id}`).then((r) => r.json()) as { dag: { nodes: Array<Record<string, any>> } };
    const ids = new Set<string>();
    for (const n of view.dag.nodes) {
      expect(n['status']).toBe('completed');
      expect(typeof n['task_id']).toBe('string');
      expect(n['a2a_tasks']).toEqual([n['task_id']]);
      ids.add(n['task_id']);
      // the task is the agent's A2A task, in the session's context, with the node's answer as its artifact
      const ep = await a2a.endpoint(n['agent']);
      const task = await ep!.handler.getTask({ tenant: '', id: n['task_id'] }, orchCtx());
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(task.contextId).toBe(id);
      expect(answerOf(task)).toBe(n['result']);
    }
    expect(ids.size).toBe(4);
    // the join saw both branches' answers (each the agent's reply to its own prompt)
    expect(done.nodes['d']!.result).toContain('[output of b]');
    expect(done.nodes['d']!.result).toContain('done:left');
  });

  it('cancelling the session cancels the running node\'s A2A task', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const { orch, a2a } = await setup(model);
    const id = await orch.start('go', { dag: { nodes: [{ id: 'slow', agent: 'research', instruction: 'take your time' }] } });
    await untilSession(orch, id, (s) => s.nodes['slow']?.task_id !== undefined, 'the node has its task');
    const taskId = (await orch.state(id)).nodes['slow']!.task_id!;
    const cancelled = await orch.cancel(id);
    expect(cancelled['status']).toBe('cancelled');
    const ep = await a2a.endpoint('research');
    await until(async () => (await ep!.handler.getTask({ tenant: '', id: taskId }, orchCtx())).status?.state === TaskState.TASK_STATE_CANCELED, 10_000, 'the task was cancelled');
    release();
  });

  it('a node whose agent asks for input fails its attempt with a coded error, and its task is cancelled', async () => {
    const { orch, a2a } = await setup();
    const id = await orch.start('go', { dag: { nodes: [{ id: 'ask', agent: 'research', instruction: 'ask:which one?', retries: 0 }] } });
    const s = await orch.attach(id);
    expect(s.status).toBe('failed');
    expect(s.nodes['ask']!.error).toMatchObject({ code: 'TROUPE_ERR_SESSION_NODE_INPUT_REQUIRED' });
    expect(s.nodes['ask']!.error!.message).toContain('which one?');
    const ep = await a2a.endpoint('research');
    const task = await ep!.handler.getTask({ tenant: '', id: s.nodes['ask']!.task_id! }, orchCtx());
    expect(task.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });
});
