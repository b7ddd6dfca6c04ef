import { describe, expect, it } from 'vitest';
import { RunAbort } from '../../actors/agent/model/index.js';
import { clockSleep } from '../../actors/agent/model/retry.js';
import { ManualClock } from '../../protocol/index.js';

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
    // On a clock that never moves: the wait can only end by the abort, and its timer goes with it.
    const clock = new ManualClock(1_000);
    const a = new RunAbort();
    const sleep = clockSleep(clock);
    let settled = false;
    const waiting = sleep(10_000, a);
    void waiting.then(() => (settled = true), () => (settled = true));
    expect(clock.pending).toBe(1);
    await Promise.resolve();
    expect(settled).toBe(false);
    a.abort('cancelled by the requester');
    await expect(waiting).rejects.toBe('cancelled by the requester');
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(1_000);
  });

  it('a wait nobody cuts short ends when its time has passed on the clock, not before', async () => {
    const clock = new ManualClock(0);
    const a = new RunAbort();
    let done = false;
    const waiting = clockSleep(clock)(500, a).then(() => (done = true));
    clock.advance(499);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await waiting;
    expect(done).toBe(true);
    a.abort('too late');
    expect(clock.pending).toBe(0);
  });
});
