import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTroupe, type TroupeProcess } from '../process.js';
import { tempDir } from '../helpers.js';

const procs: TroupeProcess[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill();
  for (const d of dirs.splice(0)) d();
});

const EVERY_MS = 1_000;
const WINDOW_MS = 2_500;

interface JobView {
  id: string;
  status: string;
  schedule: { anchorMs: number; everyMs: number };
  counters: { fired: number; missed: number; skipped: number; dropped: number };
  fires: Array<{ fire_id: string; nominal: number; at: number; outcome: string }>;
}
interface TaskView { id: string; idempotency_key?: string; created_at: string; status: string }

async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const out = await r.json() as T;
  if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(out)}`);
  return out;
}

/** Poll (every 100 ms, at most `ms`) until `cond` holds. */
async function poll(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The nominal times (from the fire ids, `jobId@ISO`) of the tasks each job submitted, with when each task was created. */
async function firesByJob(base: string): Promise<Map<string, Array<{ nominal: number; created: number; key: string }>>> {
  const out = new Map<string, Array<{ nominal: number; created: number; key: string }>>();
  let after: string | undefined;
  for (;;) {
    const page = await call<{ tasks: TaskView[]; next?: string }>(base, 'GET', `/api/v1/aoa/tasks?task_type=NOOP&limit=1000${after ? `&after=${after}` : ''}`);
    for (const t of page.tasks) {
      const [job, iso] = (t.idempotency_key ?? '').split('@');
      if (!job || !iso) continue;
      const list = out.get(job) ?? [];
      list.push({ nominal: Date.parse(iso), created: Date.parse(t.created_at), key: t.idempotency_key! });
      out.set(job, list);
    }
    if (!page.next) break;
    after = page.next;
  }
  for (const l of out.values()) l.sort((a, b) => a.nominal - b.nominal);
  return out;
}

function start(dir: string, config: string): Promise<TroupeProcess> {
  return startTroupe(['--data', dir, '--http-port', '0', '--peer-port', '0', '--node', 'sk9', '--config', config], { TROUPE_LOG_LEVEL: 'warn' }, 30_000);
}

describe('scheduler under kill -9 (real troupe processes, real LMDB, 1 s intervals)', () => {
  it('a node down across 5 or more due fires applies each job\'s catch-up policy exactly after the restart; no fire is enqueued twice', async () => {
    const t = tempDir('troupe-sched-k9-');
    dirs.push(t.cleanup);
    const data = join(t.dir, 'data');
    const config = join(t.dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({ gateway: { rateLimitPerMinute: 100_000 } }));

    const first = await start(data, config);
    procs.push(first);
    let base = first.ready.http;
    const job = (name: string, policy: Record<string, unknown>): Promise<JobView> => call<JobView>(base, 'POST', '/api/v1/aoa/jobs', {
      name, schedule: { type: 'interval', seconds: EVERY_MS / 1000 }, task: { task_type: 'NOOP', payload: {} }, policy,
    });
    const all = await job('all', { catchup: 'all', catchup_window_seconds: 3_600, overlap: 'allow-all' });
    const latest = await job('latest', { catchup: 'latest', catchup_window_seconds: 3_600, overlap: 'allow-all' });
    const windowed = await job('window', { catchup: 'all', catchup_window_seconds: WINDOW_MS / 1000, overlap: 'allow-all' });
    const ids = [all.id, latest.id, windowed.id];

    await poll(async () => {
      const f = await firesByJob(base);
      return ids.every((id) => (f.get(id)?.length ?? 0) >= 1);
    }, 20_000, 'a fire of each job');
    await first.kill();
    const killedAt = Date.now();
    // down across at least 5 due fires of every job (checked below from the fire ids)
    await new Promise((r) => setTimeout(r, 5 * EVERY_MS + 500));

    const second = await start(data, config);
    procs.push(second);
    const restartedAt = Date.now();
    base = second.ready.http;
    // a fire after the restart's catch-up, then pause every job so its record stops moving
    await poll(async () => {
      const f = await firesByJob(base);
      return ids.every((id) => (f.get(id) ?? []).some((x) => x.nominal > restartedAt));
    }, 20_000, 'a fire of each job after the restart');
    for (const id of ids) await call(base, 'POST', `/api/v1/aoa/jobs/${id}/pause`, { note: 'checked' });
    await poll(async () => {
      for (const id of ids) {
        const v = await call<JobView>(base, 'GET', `/api/v1/aoa/jobs/${id}`);
        if (v.fires.some((f) => f.outcome === 'pending')) return false;
      }
      return true;
    }, 10_000, 'no fire left unsubmitted');
    const fires = await firesByJob(base);
    const views = new Map<string, JobView>();
    for (const id of ids) views.set(id, await call<JobView>(base, 'GET', `/api/v1/aoa/jobs/${id}`));

    for (const id of ids) {
      const v = views.get(id)!;
      const got = fires.get(id)!;
      const { anchorMs, everyMs } = v.schedule;
      expect(everyMs).toBe(EVERY_MS);
      // every fire id is on the job's grid, once, and the job counted each fire once
      for (const f of got) expect((f.nominal - anchorMs) % everyMs, f.key).toBe(0);
      expect(new Set(got.map((f) => f.key)).size).toBe(got.length);
      expect(v.counters.fired, `${id} fired`).toBe(got.length);
      // the grid times up to the last fire: present, or missed (and counted)
      const grid: number[] = [];
      for (let x = anchorMs + everyMs; x <= got.at(-1)!.nominal; x += everyMs) grid.push(x);
      const have = new Set(got.map((f) => f.nominal));
      const absent = grid.filter((x) => !have.has(x));
      expect(v.counters.missed, `${id} missed`).toBe(absent.length);
      // the node was down across at least 5 due fires
      const downtime = grid.filter((x) => x > killedAt && x <= restartedAt);
      expect(downtime.length, `${id}: grid times while down`).toBeGreaterThanOrEqual(5);
      // The restart's catch-up decision: the first wake of the new node decides every time due
      // since the kill; `at` of the fires it missed is its time. (A wake made late by a loaded
      // machine applies the same policy, so misses before the kill or after the catch-up are
      // possible; they are counted above, the catch-up is checked here.)
      const missed = v.fires.filter((f) => f.outcome === 'missed' && f.at > killedAt);
      const decidedAt = missed.length > 0 ? Math.min(...missed.map((m) => m.at)) : undefined;
      const caughtUp = grid.filter((x) => x > killedAt && decidedAt !== undefined && x <= decidedAt);

      if (id === all.id) {
        // catch-up all, window wider than the downtime: every time fires, none missed
        expect(absent).toEqual([]);
        expect(missed).toEqual([]);
        for (const x of downtime) expect(have.has(x), `downtime fire ${x}`).toBe(true);
      } else if (id === latest.id) {
        // catch-up latest: the newest time due at the restart fires, the older ones are missed
        expect(decidedAt).toBeDefined();
        expect(caughtUp.length).toBeGreaterThanOrEqual(5);
        expect(caughtUp.filter((x) => have.has(x))).toEqual([caughtUp.at(-1)]);
        expect(caughtUp.at(-1)! + everyMs).toBeGreaterThan(decidedAt!);
        for (const m of missed.filter((x) => x.at === decidedAt)) expect(caughtUp).toContain(m.nominal);
      } else {
        // catch-up all within the window: due times older than the window are missed, the rest fire
        expect(decidedAt).toBeDefined();
        expect(caughtUp.length).toBeGreaterThanOrEqual(5);
        for (const x of caughtUp) {
          expect(have.has(x), `grid time ${x}, ${decidedAt! - x} ms before the decision`).toBe(decidedAt! - x <= WINDOW_MS);
        }
        expect(caughtUp.filter((x) => !have.has(x)).length).toBeGreaterThanOrEqual(2);
      }
    }
    expect(second.stderr()).toBe('');
  });
});
