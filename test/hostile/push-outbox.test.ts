import { describe, expect, it } from 'vitest';
import { PushOutbox, pushOptionsSchema, type PushEntry } from '../../actors/a2a/push/index.js';
import { silent } from '../helpers.js';

const entry = (id: string, body: string): PushEntry => ({
  v: 1, id, target: 'target-1', agent: 'echo', taskId: 't1', url: 'https://hooks.example.com/a2a', body, contentType: 'application/json', attempts: 0, nextAt: 0, createdAt: 0,
});

describe('hostile: many large notifications for a receiver that never answers', () => {
  it('the outbox holds at most maxPendingBytes of bodies: past it a new one is refused (TROUPE_ERR_STORAGE_FULL), and room comes back as they go', async () => {
    const mib = 'x'.repeat(1024 * 1024);
    const outbox = new PushOutbox(undefined, 100_000, silent, 2 * 1024 * 1024 + 10);
    await outbox.add(entry('n1', mib));
    await outbox.add(entry('n2', mib));
    await expect(outbox.add(entry('n3', mib))).rejects.toMatchObject({ code: 'TROUPE_ERR_STORAGE_FULL' });
    expect(outbox.size).toBe(2);
    const [head] = [...outbox.heads()];
    await outbox.remove(head!.seq);
    await outbox.add(entry('n3', mib));
    expect(outbox.size).toBe(2);
  });

  it('the node option defaults to 256 MiB', () => {
    expect(pushOptionsSchema.parse({}).maxPendingBytes).toBe(256 * 1024 * 1024);
  });
});
