import { afterEach, describe, expect, it } from 'vitest';
import { TaskState } from '@a2a-js/sdk';
import { ServerCallContext, UnauthenticatedUser } from '@a2a-js/sdk/server';
import type { A2AApi } from '../../index.js';
import type { CompleteOptions, ModelProvider, ModelRequest } from '../../actors/agent/index.js';
import { EventQueue } from '../../actors/a2a/home/index.js';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, sendParams, userMessage } from '../a2a/harness.js';

afterEach(closeNodes);

/** A model that streams its answer as a few large pieces (`pieces` of `size` characters). */
class LargeModel implements ModelProvider {
  readonly name = 'large';
  readonly offline = true;
  readonly defaultModel = 'large';
  constructor(private readonly pieces: number, private readonly size: number) {}

  async complete(_req: ModelRequest, opts: CompleteOptions = {}): Promise<any> {
    const parts = Array.from({ length: this.pieces }, (_, i) => String.fromCharCode(97 + i).repeat(this.size));
    for (const p of parts) opts.onDelta?.({ type: 'content', text: p });
    return { content: parts.join(''), toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }, model: 'large' };
  }
}

const ev = (seq: number, text: string) => ({ type: 'a2a.home.event' as const, streamId: 's', seq, event: { artifactUpdate: { text } } });

describe("a forwarded stream's buffer is bounded in bytes as well as in events", () => {
  it('a few large events trip the byte bound long before the event bound; what the reader took frees its room', async () => {
    const q = new EventQueue(1_000, 100_000);
    q.push(ev(0, 'x'.repeat(40_000)));
    q.push(ev(1, 'y'.repeat(40_000)));
    expect(q.buffered).toBeGreaterThan(80_000);
    const it = q.drain();
    expect(((await it.next()).value as any).artifactUpdate.text).toHaveLength(40_000);
    // the first one was read: room for one more
    q.push(ev(2, 'z'.repeat(40_000)));
    q.push(ev(3, 'w'.repeat(40_000)));
    expect(((await it.next()).value as any).artifactUpdate.text[0]).toBe('y');
    expect(((await it.next()).value as any).artifactUpdate.text[0]).toBe('z');
    const error = await it.next().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'TROUPE_ERR_A2A_STREAM_OVERFLOW' });
    expect(String((error as Error).message)).toContain('100000 bytes');
  });

  it('across nodes: a lagging reader of a task whose artifacts are large gets TROUPE_ERR_A2A_STREAM_OVERFLOW; the task completes on its node', async () => {
    const a = await a2aNode({ id: 'bytes-a', cluster: { port: 0, heartbeatMs: 150 }, a2a: { streamBufferBytes: 64 * 1024 } });
    const b = await a2aNode({ id: 'bytes-b', modelProvider: new LargeModel(4, 40_000), cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] } });
    await until(() => a.peers().includes('bytes-b') && b.peers().includes('bytes-a'), 10_000, 'both nodes up');
    b.spawnAgent({ name: 'bulky', description: 'answers in large pieces' });
    const api = a.module<A2AApi>('a2a');
    await until(async () => (await api.endpoint('bulky')) !== undefined, 10_000, 'A knows of bulky');
    const ep = (await api.endpoint('bulky'))!;
    const ctx = () => new ServerCallContext({ user: new UnauthenticatedUser() });
    const stream = ep.handler.sendMessageStream(sendParams(userMessage('a big answer please')), ctx());
    const first = await stream.next();
    const id = (first.value as any).payload.value.id as string;
    const home = (await b.module<A2AApi>('a2a').endpoint('bulky'))!;
    await until(async () => (await home.handler.getTask({ tenant: '', id, historyLength: undefined }, ctx())).status?.state === TaskState.TASK_STATE_COMPLETED, 10_000, 'completed on B');
    let error: any;
    let events = 1;
    try {
      for (let r = await stream.next(); !r.done; r = await stream.next()) events++;
    } catch (e) {
      error = e;
    }
    // six events at most (task, working, four pieces, completed): far under the event bound
    expect(events).toBeLessThan(7);
    expect(error?.code).toBe('TROUPE_ERR_A2A_STREAM_OVERFLOW');
    expect(String(error?.message)).toContain('bytes');
    expect(answerOf(await ep.handler.getTask({ tenant: '', id, historyLength: undefined }, ctx()))).toHaveLength(160_000);
  }, 60_000);
});
