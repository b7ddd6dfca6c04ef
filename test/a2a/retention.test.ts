import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { a2aModule, defaultModules } from '../../index.js';
import { tempDir } from '../helpers.js';
import { a2aNode, closeNodes, CountingModel, sendParams, userMessage, v1Client } from './harness.js';

const dirs: Array<() => void> = [];
afterEach(async () => {
  await closeNodes();
  for (const d of dirs.splice(0)) d();
});

const modules = (maxTasks: number, model: CountingModel) => [
  ...defaultModules({ provider: model }).filter((m) => m.name !== 'a2a'),
  a2aModule({ maxTasks }),
];

describe('A2A task retention', () => {
  it('past maxTasks the oldest finished tasks are pruned, waiting ones kept, also after a restart', async () => {
    const { dir, cleanup } = tempDir('troupe-a2a-keep-');
    dirs.push(cleanup);
    const model = new CountingModel();
    const node = await a2aNode({ id: 'a2a-keep', dataDir: dir, modules: modules(3, model) });
    node.spawnAgent({ name: 'echo' });
    let client = await v1Client(node.http.url, 'echo');
    const waiting = await client.sendMessage(sendParams(userMessage('ask:hold on?'))) as Task;
    expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await client.sendMessage(sendParams(userMessage(`n${i}`)))) as Task).id);
    const base = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined };
    const listed = async () => (await client.listTasks(base)).tasks.map((t) => t.id).sort();
    expect(await listed()).toEqual([waiting.id, ids[3]!, ids[4]!].sort());
    await expect(client.getTask({ tenant: '', id: ids[0]!, historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    await node.close();

    const again = await a2aNode({ id: 'a2a-keep', dataDir: dir, modules: modules(3, model) });
    again.spawnAgent({ name: 'echo' });
    client = await v1Client(again.http.url, 'echo');
    expect(await listed()).toEqual([waiting.id, ids[3]!, ids[4]!].sort());
    expect((await client.getTask({ tenant: '', id: waiting.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
  });

  it('bad module options are a coded config error', () => {
    expect(() => a2aModule({ maxTasks: 0 })).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
    expect(() => a2aModule({ nope: true } as never)).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
  });
});
