import { afterEach, describe, expect, it } from 'vitest';
import type { Task, TaskPushNotificationConfig } from '@a2a-js/sdk';
import { a2aNode, closeNodes, sendParams, userMessage, v1Client } from '../a2a/harness.js';

afterEach(closeNodes);

const pushConfig = (url: string, extra: Partial<TaskPushNotificationConfig> = {}): TaskPushNotificationConfig => ({
  tenant: '', id: '', taskId: '', url, token: '', authentication: undefined, ...extra,
});

describe('hostile: push notification configs whose secrets could never be sent as headers', () => {
  it('a token, scheme or credentials with CR/LF is refused when saved (coded), and nothing is kept', async () => {
    const node = await a2aNode({ a2a: { push: { allowHosts: ['127.0.0.1'] } } } as never);
    node.spawnAgent({ name: 'echo' });
    const client = await v1Client(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('hi'))) as Task;
    const url = 'http://127.0.0.1:9/hook';
    for (const bad of [
      { token: 'tok\r\nx-injected: 1' },
      { authentication: { scheme: 'Bearer\n', credentials: 'c' } },
      { authentication: { scheme: 'Basic', credentials: 'abc\u0000def' } },
    ]) {
      const err = await client.createTaskPushNotificationConfig(pushConfig(url, { taskId: task.id, ...bad } as Partial<TaskPushNotificationConfig>)).catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).toBeInstanceOf(Error);
      expect(String((err as Error).message)).toContain('TROUPE_ERR_A2A_PUSH_CONFIG_INVALID');
    }
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs).toEqual([]);
    // a clean one is kept
    const ok = await client.createTaskPushNotificationConfig(pushConfig(url, { taskId: task.id, token: 'tok-ok' }));
    expect(ok).toMatchObject({ token: 'tok-ok' });
  });
});
