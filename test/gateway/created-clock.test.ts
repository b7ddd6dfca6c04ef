import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { cleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

describe('chat completions are stamped by the node clock', () => {
  it('`created` of a completion and of every streamed chunk is the node clock in seconds', async () => {
    const clock = new ManualClock(Date.UTC(2031, 0, 1, 0, 0, 7, 500));
    const node = await testNode({ clock, http: { port: 0 }, agents: [{ name: 'plain' }] });
    const post = (stream: boolean): Promise<Response> => fetch(`${node.http!.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain', stream, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const seconds = Math.floor(clock.now() / 1000);
    const done = await (await post(false)).json() as { created: number };
    expect(done.created).toBe(seconds);
    const text = await (await post(true)).text();
    const chunks = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as { created: number });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.created).toBe(seconds);
  });
});
