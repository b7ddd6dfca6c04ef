import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ClientFactory } from 'a2a-sdk-03/client';
import { until } from '../helpers.js';
import { a2aNode, closeNodes, CountingModel } from './harness.js';

afterEach(closeNodes);

const msg = (text: string, extra: { taskId?: string; contextId?: string } = {}) => ({
  kind: 'message' as const, messageId: randomUUID(), role: 'user' as const, parts: [{ kind: 'text' as const, text }], ...extra,
});

async function client03(baseUrl: string, agent: string) {
  return new ClientFactory().createFromUrl(`${baseUrl}/a2a/${agent}/.well-known/agent-card.json`, '');
}

const answer = (t: any): string => (t.artifacts ?? []).flatMap((a: any) => a.parts).map((p: any) => p.text ?? '').join('');

describe('A2A 0.3 through the official @a2a-js/sdk 0.3.14 client', () => {
  it('message/send returns a completed task in the 0.3 shape; tasks/get reads it back', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const client = await client03(node.http.url, 'echo');
    const task: any = await client.sendMessage({ message: msg('old school') });
    expect(task).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect(answer(task)).toBe('[troupe-offline] You said: old school');
    expect(task.history.map((m: any) => [m.kind, m.role])).toEqual([['message', 'user'], ['message', 'agent']]);
    const again: any = await client.getTask({ id: task.id, historyLength: 1 });
    expect(again).toMatchObject({ kind: 'task', id: task.id, status: { state: 'completed' } });
    expect(again.history).toHaveLength(1);
    await expect(client.getTask({ id: 'no-such-task' })).rejects.toThrow(/not found/i);
  });

  it('message/stream yields task, status-update working, artifact-updates, and a final status-update completed', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const client = await client03(node.http.url, 'echo');
    const events: any[] = [];
    for await (const ev of client.sendMessageStream({ message: msg('stream the old way') })) events.push(ev);
    expect(events[0].kind).toBe('task');
    expect(events[1]).toMatchObject({ kind: 'status-update', status: { state: 'working' } });
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect(events.filter((e) => e.kind === 'artifact-update').map((e) => e.artifact.parts[0].text).join('')).toBe('[troupe-offline] You said: stream the old way');
  });

  it('blocking:false then tasks/cancel cancels the running task; tasks/resubscribe follows another to completion', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const client = await client03(node.http.url, 'slow');
    const t1: any = await client.sendMessage({ message: msg('one'), configuration: { blocking: false } });
    expect(['submitted', 'working']).toContain(t1.status.state);
    await until(() => model.calls === 1, 10_000, 'first run at the model');
    const canceled: any = await client.cancelTask({ id: t1.id });
    expect(canceled.status.state).toBe('canceled');

    const t2: any = await client.sendMessage({ message: msg('two'), configuration: { blocking: false } });
    await until(() => model.calls === 2, 10_000, 'second run at the model');
    const events: any[] = [];
    for await (const ev of client.resubscribeTask({ id: t2.id })) {
      events.push(ev);
      if (events.length === 1) release();
    }
    expect(events[0]).toMatchObject({ kind: 'task', id: t2.id });
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
    expect((await client.getTask({ id: t1.id }) as any).status.state).toBe('canceled');
  });

  it('an input-required task is resumed by a 0.3 follow-up on the same taskId', async () => {
    const model = new CountingModel();
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'asker' });
    const client = await client03(node.http.url, 'asker');
    const t: any = await client.sendMessage({ message: msg('ask:name?') });
    expect(t.status).toMatchObject({ state: 'input-required', message: { role: 'agent', parts: [{ kind: 'text', text: 'name?' }] } });
    const done: any = await client.sendMessage({ message: msg('Ada', { taskId: t.id, contextId: t.contextId }) });
    expect(done).toMatchObject({ id: t.id, status: { state: 'completed' } });
    expect(answer(done)).toBe('done:Ada');
  });
});
