import { afterEach, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../index.js';
import { fireId } from '../../actors/index.js';
import { tempDir } from '../helpers.js';
import { RecordingSubmitter, SteppingClock, runUntil, schedulerNode, schedulerOf } from './helpers.js';

const T0 = Date.parse('2026-03-27T00:00:00.000Z');
let nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
  for (const d of dirs.splice(0)) d();
});

/** The clock's pending timers. */
const timers = (c: SteppingClock): Array<{ at: number }> => (c as unknown as { timers: Array<{ at: number }> }).timers;

describe('scheduler: one actor, one timer', () => {
  it('holds 60 jobs with one timer armed for the earliest; jobs due together each fire once', async () => {
    const { dir, cleanup } = tempDir('troupe-sched-one-');
    dirs.push(cleanup);
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    const n = await schedulerNode(clock, sub, { dataDir: dir });
    nodes.push(n);
    const s = schedulerOf(n);
    const jobs = [];
    // every job at second (i % 30) of each minute: 2 jobs due together at each of 30 seconds
    for (let i = 0; i < 60; i++) {
      jobs.push(await s.create({ name: `j${i}`, schedule: { type: 'cron', expression: `${i % 30} * * * * *` }, task: { task_type: 'SCHEDULED_JOB' } }));
    }
    await s.refresh(jobs[0]!.id);
    expect(timers(clock)).toHaveLength(1);
    expect(timers(clock)[0]!.at).toBe(T0 + 1_000); // second 1 is the earliest (second 0 is T0 itself, not after it)
    await runUntil(clock, s, T0 + 60_000);
    // each job fired once in the minute (at its second; second 0 at T0 + 60 s), each with its fire id
    expect(sub.keys()).toHaveLength(60);
    for (let i = 0; i < 60; i++) {
      const second = i % 30 === 0 ? 60 : i % 30;
      expect(sub.tasks.has(fireId(jobs[i]!.id, T0 + second * 1_000)), `job ${i}`).toBe(true);
    }
    // still one timer, for the next due time (a status poll or the next fire)
    expect(timers(clock).length).toBeLessThanOrEqual(1);
    expect((s.stats() as { fired: number }).fired).toBe(60);
  });
});
