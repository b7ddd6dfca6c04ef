import { describe, expect, it } from 'vitest';
import { RunAbort } from '../../actors/agent/model/index.js';
import { clockSleep } from '../../actors/agent/model/retry.js';
import { systemClock } from '../../protocol/index.js';

describe('RunAbort (a run cancellation that makes its AbortSignal only on demand)', () => {
  it('runs each listener once, at the abort, and keeps the first reason', () => {
    const a = new RunAbort();
    const calls: string[] = [];
    const removed = (): void => { calls.push('removed'); };
    a.addEventListener('abort', () => calls.push('one'));
    a.addEventListener('abort', removed);
    a.addEventListener('abort', () => calls.push('two'));
    a.removeEventListener('abort', removed);
    a.abort('first');
    a.abort('second');
    expect(calls).toEqual(['one', 'two']);
    expect(a.aborted).toBe(true);
    expect(a.reason).toBe('first');
    a.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['one', 'two']);
  });

  it('a signal asked for before the abort follows it; one asked for after is aborted already, with the reason', () => {
    const before = new RunAbort();
    const s = before.signal;
    expect(s.aborted).toBe(false);
    let fired = 0;
    s.addEventListener('abort', () => fired++);
    before.abort('timeout');
    expect(s.aborted).toBe(true);
    expect(s.reason).toBe('timeout');
    expect(fired).toBe(1);
    expect(before.signal).toBe(s);

    const after = new RunAbort();
    after.abort('gone');
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe('gone');
  });

  it('cuts a retry wait short, as an AbortSignal would', async () => {
    const a = new RunAbort();
    const sleep = clockSleep(systemClock);
    const t = Date.now();
    const waiting = sleep(10_000, a);
    setTimeout(() => a.abort('cancelled by the requester'), 10);
    await expect(waiting).rejects.toBe('cancelled by the requester');
    expect(Date.now() - t).toBeLessThan(5_000);
  });
});
