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
      return ids.every((id) => (f.get(id)?.length ?? 0) >= 2);
    }, 20_000, 'two fires of each job');
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
      expect(got[0]!.nominal, 'the first fire is the first grid time').toBe(anchorMs + everyMs);
      // the grid times from the first fire to the last: present, or missed (and counted)
      const grid: number[] = [];
      for (let x = got[0]!.nominal; x <= got.at(-1)!.nominal; x += everyMs) grid.push(x);
      const have = new Set(got.map((f) => f.nominal));
      const absent = grid.filter((x) => !have.has(x));
      expect(v.counters.missed, `${id} missed`).toBe(absent.length);
      // the node was down across at least 5 due fires
      const downtime = grid.filter((x) => x > killedAt && x <= restartedAt);
      expect(downtime.length, `${id}: grid times while down`).toBeGreaterThanOrEqual(5);
      // the restart's catch-up decision: `at` of its missed fires (all decided in one wake)
      const missed = v.fires.filter((f) => f.outcome === 'missed');
      const decidedAt = missed[0]?.at;
      for (const m of missed) expect(m.at).toBe(decidedAt);

      if (id === all.id) {
        // catch-up all, window wider than the downtime: every time fires, none missed
        expect(absent).toEqual([]);
        expect(missed).toEqual([]);
        for (const x of downtime) expect(have.has(x), `downtime fire ${x}`).toBe(true);
      } else if (id === latest.id) {
        // catch-up latest: the newest due time fires, the older ones of the gap are missed
        expect(absent.length).toBeGreaterThanOrEqual(4);
        expect(decidedAt).toBeDefined();
        const firstAbsent = absent[0]!;
        const lastAbsent = absent.at(-1)!;
        expect(absent).toEqual(grid.filter((x) => x >= firstAbsent && x <= lastAbsent));
        const caughtUp = lastAbsent + everyMs;
        expect(have.has(caughtUp)).toBe(true);
        expect(caughtUp).toBeLessThanOrEqual(decidedAt!);
        expect(caughtUp + everyMs).toBeGreaterThan(decidedAt!);
        for (const m of missed) expect(absent).toContain(m.nominal);
      } else {
        // catch-up all within the window: due times older than the window are missed, the rest fire
        expect(decidedAt).toBeDefined();
        const firstAbsent = absent[0]!;
        for (const x of grid.filter((g) => g >= firstAbsent && g <= decidedAt!)) {
          expect(have.has(x), `grid time ${x}, ${decidedAt! - x} ms before the decision`).toBe(decidedAt! - x <= WINDOW_MS);
        }
        expect(absent.length).toBeGreaterThanOrEqual(2);
        expect(absent.every((x) => x <= decidedAt! - WINDOW_MS)).toBe(true);
      }
    }
    expect(second.stderr()).toBe('');
  });
});
