import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory as ClientFactory03 } from 'a2a-sdk-03/client';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, sendParams, userMessage, v1Client } from './harness.js';

afterEach(closeNodes);

async function twoNodes() {
  const a = await a2aNode({ id: 'a2a-a', cluster: { port: 0, heartbeatMs: 150 } });
  const b = await a2aNode({ id: 'a2a-b', cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] } });
  await until(() => a.peers().includes('a2a-b') && b.peers().includes('a2a-a'), 10_000, 'both nodes up');
  return { a, b };
}

describe('A2A for an agent on another node of the cluster', () => {
  it("node A serves the card and the tasks of an agent that lives on node B, to the 1.x and the 0.3 client", async () => {
    const { a, b } = await twoNodes();
    b.spawnAgent({ name: 'far', description: 'lives on B', skills: [{ id: 'echo', name: 'Echo', tags: ['echo'] }] });
    expect(a.agents.get('far')).toBeUndefined();
    await until(async () => (await fetch(`${a.http.url}/a2a/far/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).status === 200, 10_000, 'A knows of far');

    const card = await (await fetch(`${a.http.url}/a2a/far/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json() as any;
    expect(card).toMatchObject({ name: 'far', description: 'lives on B', skills: [{ id: 'echo', tags: ['echo'] }] });
    expect(card.supportedInterfaces[0].url).toBe(`${a.http.url}/a2a/far`);

    const client = await v1Client(a.http.url, 'far');
    const task = await client.sendMessage(sendParams(userMessage('across the link'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(task)).toBe('[troupe-offline] You said: across the link');
    expect((await client.getTask({ tenant: '', id: task.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    const events: string[] = [];
    for await (const ev of client.sendMessageStream(sendParams(userMessage('streamed across')))) events.push(ev.payload!.$case!);
    expect(events[0]).toBe('task');
    expect(events.filter((e) => e === 'artifactUpdate').length).toBeGreaterThan(0);
    expect(events.at(-1)).toBe('statusUpdate');

    const old = await new ClientFactory03().createFromUrl(`${a.http.url}/a2a/far/.well-known/agent-card.json`, '');
    const t03: any = await old.sendMessage({ message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'old and far' }] } });
    expect(t03).toMatchObject({ kind: 'task', status: { state: 'completed' } });

    // an agent nowhere in the cluster is still unknown
    expect((await fetch(`${a.http.url}/a2a/nowhere/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).status).toBe(404);
  });
});
