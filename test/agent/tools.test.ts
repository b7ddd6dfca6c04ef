import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clockTool, runTool, type AgentTool, type ToolContext } from '../../actors/agent/index.js';
import { ManualClock } from '../../protocol/index.js';

function context(clock: ManualClock, signal: AbortSignal = new AbortController().signal): ToolContext {
  return {
    agent: 'a', runId: 'r-1', signal, clock, log: pino({ level: 'silent' }),
    tell: () => undefined,
    ask: () => Promise.reject(new Error('no asks here')),
  };
}

/** A tool that never answers. */
const hanging: AgentTool<{ q: string }> = {
  name: 'hang', parameters: z.object({ q: z.string() }), timeoutMs: 5_000,
  execute: () => new Promise(() => undefined),
};

describe('runTool on the injected clock', () => {
  it('a tool that does not answer fails at its time limit on the node clock, not before', async () => {
    const clock = new ManualClock(1_000);
    const outcome = runTool(hanging, { id: 'c1', name: 'hang', arguments: '{"q":"x"}' }, context(clock));
    await Promise.resolve();
    clock.advance(4_999);
    // the limit's timer is still armed: the call has not been failed yet
    expect(clock.pending).toBe(1);
    clock.advance(1);
    const r = await outcome;
    expect(r.ok).toBe(false);
    expect(JSON.parse(r.content).error).toMatchObject({ code: 'TROUPE_ERR_TOOL_FAILED', message: 'hang failed: tool hang took longer than 5000ms' });
    expect(clock.pending).toBe(0);
  });

  it('a cancelled run ends the call with TROUPE_ERR_AGENT_CANCELLED and disarms its timer', async () => {
    const clock = new ManualClock();
    const abort = new AbortController();
    const outcome = runTool(hanging, { id: 'c2', name: 'hang', arguments: '{"q":"x"}' }, context(clock, abort.signal));
    await Promise.resolve();
    expect(clock.pending).toBe(1);
    abort.abort('stop');
    await expect(outcome).rejects.toMatchObject({ code: 'TROUPE_ERR_AGENT_CANCELLED' });
    expect(clock.pending).toBe(0);
  });

  it('an answer in time disarms the timer', async () => {
    const clock = new ManualClock();
    const quick: AgentTool<{ n: number }> = { name: 'double', parameters: z.object({ n: z.number() }), execute: ({ n }) => n * 2 };
    const r = await runTool(quick, { id: 'c3', name: 'double', arguments: '{"n":21}' }, context(clock));
    expect(r).toEqual({ content: '42', ok: true });
    expect(clock.pending).toBe(0);
  });
});

describe('the built-in clock tool', () => {
  it('tells the node clock\'s time, in UTC and in a named zone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
    const utc = await runTool(clockTool, { id: 'c4', name: 'clock', arguments: '' }, context(clock));
    expect(JSON.parse(utc.content)).toEqual({ utc: '2026-01-02T03:04:05.000Z' });
    const tokyo = await runTool(clockTool, { id: 'c5', name: 'clock', arguments: '{"timeZone":"Asia/Tokyo"}' }, context(clock));
    expect(JSON.parse(tokyo.content)).toEqual({ utc: '2026-01-02T03:04:05.000Z', timeZone: 'Asia/Tokyo', local: '02/01/2026, 12:04:05' });
    const bad = await runTool(clockTool, { id: 'c6', name: 'clock', arguments: '{"timeZone":"Mars/Olympus"}' }, context(clock));
    expect(bad.ok).toBe(false);
  });
});
