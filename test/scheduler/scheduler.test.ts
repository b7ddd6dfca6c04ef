import { afterEach, describe, expect, it } from 'vitest';
import { Cron } from 'croner';
import type { RunningNode } from '../../index.js';
import { fireId } from '../../actors/index.js';
import { tempDir } from '../helpers.js';
import { RecordingSubmitter, SteppingClock, quiesce, runUntil, schedulerNode, schedulerOf } from './helpers.js';

const T0 = Date.parse('2026-03-27T00:00:00.000Z');
const task = { task_type: 'SCHEDULED_JOB', payload: { note: 'x' } };
let nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
  for (const d of dirs.splice(0)) d();
});
async function node(clock: SteppingClock, sub: RecordingSubmitter, o: { dataDir?: string; http?: boolean } = {}): Promise<RunningNode> {
  const n = await schedulerNode(clock, sub, o);
  nodes.push(n);
  return n;
}

describe('scheduler', () => {
  it('an interval job fires at each nominal time, with the fire id as the task idempotency key', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    const s = schedulerOf(await node(clock, sub));
    const job = await s.create({ name: 'every-10s', schedule: { type: 'interval', seconds: 10 }, task });
    await runUntil(clock, s, T0 + 35_000);
    expect(sub.keys()).toEqual([10_000, 20_000, 30_000].map((d) => fireId(job.id, T0 + d)));
    expect([...sub.tasks.values()].map((t) => t.at - T0)).toEqual([10_000, 20_000, 30_000]);
    const v = await s.refresh(job.id);
    expect(v.run_count).toBe(3);
    expect(v.next_run_at).toBe(new Date(T0 + 40_000).toISOString());
    expect(v.fires.at(-1)).toMatchObject({ outcome: 'completed' });
  });

  it('a daily job in a time zone fires at croner\'s times (DST spring-forward included), and max_runs completes it', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    const s = schedulerOf(await node(clock, sub));
    const job = await s.create({ name: 'd', schedule: { type: 'daily', hour: 2, minute: 30, timezone: 'Europe/Stockholm' }, task, max_runs: 3 });
    await runUntil(clock, s, T0 + 5 * 86_400_000);
    const expected = new Cron('0 30 2 * * *', { timezone: 'Europe/Stockholm', paused: true }).nextRuns(3, new Date(T0)).map((d) => fireId(job.id, d.getTime()));
    expect(sub.keys()).toEqual(expected);
    const v = await s.refresh(job.id);
    expect(v.status).toBe('completed');
    expect(v.next_run_at).toBeNull();
  });

  it('pause skips the fires that fall while paused (no catch-up over a pause); resume keeps the note out and goes on', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    const s = schedulerOf(await node(clock, sub));
    const job = await s.create({ name: 'p', schedule: { type: 'cron', expression: '*/10 * * * * *' }, task });
    await runUntil(clock, s, T0 + 15_000);
    const paused = await s.pause(job.id, { note: 'maintenance' });
    expect(paused).toMatchObject({ status: 'paused', pause_note: 'maintenance' });
    await runUntil(clock, s, T0 + 45_000);
    expect(sub.tasks.size).toBe(1);
    const resumed = await s.resume(job.id, {});
    expect(resumed.status).toBe('scheduled');
    expect(resumed.counters.skipped).toBe(3);
    await runUntil(clock, s, T0 + 55_000);
    expect(sub.keys()).toEqual([fireId(job.id, T0 + 10_000), fireId(job.id, T0 + 50_000)]);
  });

  it('overlap skip, buffer-one and cancel-other against a task that is still running', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock, 'running');
    const s = schedulerOf(await node(clock, sub));
    const skip = await s.create({ name: 'skip', schedule: { type: 'interval', seconds: 10 }, task, policy: { overlap: 'skip' } });
    const one = await s.create({ name: 'one', schedule: { type: 'interval', seconds: 10 }, task, policy: { overlap: 'buffer-one' } });
    const cancel = await s.create({ name: 'cancel', schedule: { type: 'interval', seconds: 10 }, task, policy: { overlap: 'cancel-other' } });
    await runUntil(clock, s, T0 + 40_000);
    expect((await s.refresh(skip.id)).counters).toMatchObject({ fired: 1, skipped: 3 });
    const o = await s.refresh(one.id);
    expect(o.counters).toMatchObject({ fired: 1, dropped: 2 });
    expect(o.buffered).toBe(1);
    expect((await s.refresh(cancel.id)).counters.fired).toBe(4);
    expect(sub.cancelled.length).toBe(3);
    // the first task of buffer-one ends: its buffered fire starts
    const first = sub.tasks.get(fireId(one.id, T0 + 10_000))!;
    sub.status.set(first.id, 'completed');
    await runUntil(clock, s, T0 + 41_000);
    const after = await s.refresh(one.id);
    expect(after.counters.fired).toBe(2);
    expect(after.buffered).toBe(0);
  });

  it('pause on failure pauses the job when a fire\'s task fails', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock, 'failed');
    const s = schedulerOf(await node(clock, sub));
    const job = await s.create({ name: 'f', schedule: { type: 'interval', seconds: 10 }, task, policy: { pause_on_failure: true } });
    await runUntil(clock, s, T0 + 35_000);
    const v = await s.refresh(job.id);
    expect(v.status).toBe('paused');
    expect(v.pause_note).toContain(fireId(job.id, T0 + 10_000));
    expect(v.counters.failed).toBe(1);
    expect(sub.tasks.size).toBe(1);
  });

  it('trigger now and backfill submit through the policy, each fire once', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    const s = schedulerOf(await node(clock, sub));
    const job = await s.create({ name: 't', schedule: { type: 'hourly', minute: 0 }, task });
    await runUntil(clock, s, T0 + 1_000);
    await s.trigger(job.id);
    expect(sub.keys()).toEqual([fireId(job.id, T0 + 1_000)]);
    await s.backfill(job.id, { from: T0 - 3 * 3_600_000, to: T0 });
    // buffer-all: one at a time, each started once the one before is seen completed
    await runUntil(clock, s, T0 + 10_000);
    expect(sub.keys().slice(1).sort()).toEqual([3, 2, 1, 0].map((h) => fireId(job.id, T0 - h * 3_600_000)).sort());
  });

  it('after a restart across due fires, catch-up `latest` fires only the newest within the window; the rest are missed', async () => {
    const { dir, cleanup } = tempDir('troupe-sched-');
    dirs.push(cleanup);
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    let n = await node(clock, sub, { dataDir: dir });
    const job = await schedulerOf(n).create({ name: 'r', schedule: { type: 'interval', seconds: 60 }, task, policy: { catchup: 'latest', catchup_window_seconds: 600 } });
    await runUntil(clock, schedulerOf(n), T0 + 61_000);
    await n.close();
    nodes = [];
    clock.advance(30 * 60_000); // down across 30 due fires
    n = await node(clock, sub, { dataDir: dir });
    await quiesce(schedulerOf(n));
    const v = await schedulerOf(n).refresh(job.id);
    expect(sub.keys()).toEqual([fireId(job.id, T0 + 60_000), fireId(job.id, T0 + 31 * 60_000)]);
    expect(v.counters.missed).toBe(29);
  });

  it('serves the REST routes with the documented shapes and coded errors', async () => {
    const clock = new SteppingClock(T0);
    const sub = new RecordingSubmitter(clock);
    const n = await node(clock, sub, { http: true });
    const url = n.http!.url;
    const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await post('/api/v1/aoa/jobs', { name: 'http', schedule: { type: 'cron', expression: '0 * * * *', timezone: 'UTC' }, task });
    expect(created.status).toBe(201);
    const job = await created.json() as { id: string; status: string; run_count: number; next_run_at: string };
    expect(job).toMatchObject({ status: 'scheduled', run_count: 0, next_run_at: new Date(T0 + 3_600_000).toISOString() });
    const list = await (await fetch(`${url}/api/v1/aoa/jobs`)).json() as { jobs: unknown[] };
    expect(list.jobs).toHaveLength(1);
    const one = await (await fetch(`${url}/api/v1/aoa/jobs/${job.id}`)).json() as { fires: unknown[] };
    expect(one.fires).toEqual([]);
    expect((await (await post(`/api/v1/aoa/jobs/${job.id}/pause`, { note: 'n' })).json() as { status: string }).status).toBe('paused');
    expect((await (await post(`/api/v1/aoa/jobs/${job.id}/resume`, {})).json() as { status: string }).status).toBe('scheduled');
    const stats = await (await fetch(`${url}/api/v1/aoa/scheduler/stats`)).json() as { jobs: number };
    expect(stats.jobs).toBe(1);
    const bad = await post('/api/v1/aoa/jobs', { name: 'x', schedule: { type: 'cron', expression: '61 * * * *' }, task });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_SCHEDULER_INVALID_JOB');
    const badTz = await post('/api/v1/aoa/jobs', { name: 'x', schedule: { type: 'daily', hour: 1, timezone: 'Nope/X' }, task });
    expect(((await badTz.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_SCHEDULER_INVALID_JOB');
    const missing = await fetch(`${url}/api/v1/aoa/jobs/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_SCHEDULER_JOB_NOT_FOUND');
    const del = await fetch(`${url}/api/v1/aoa/jobs/${job.id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await fetch(`${url}/api/v1/aoa/jobs/${job.id}`)).status).toBe(404);
  });
});
