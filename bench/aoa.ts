/**
 * The task runtime and the scheduler (issue 13): durable submit-to-complete of NOOP tasks
 * from many concurrent submitters next to raw lmdb-js puts measured in the same process, and
 * fire lateness, heap and stored bytes with 10,000 active cron schedules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { aoaModule, schedulerModule, startNode, type AoaApi, type Scheduler } from '../index.js';
import { rawLmdb } from './storage.js';
import { note, percentile, round } from './util.js';

const TASKS = Number(process.env.BENCH_AOA_TASKS ?? 20_000);
const SUBMITTERS = Number(process.env.BENCH_AOA_SUBMITTERS ?? 256);
const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 10_000);
const LATENESS_WINDOW_MS = Number(process.env.BENCH_SCHEDULER_WINDOW_MS ?? 10_000);
const logger = pino({ level: 'silent' });

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** NOOP tasks, each submitted and awaited to completion, from SUBMITTERS concurrent lanes: tasks per second. */
async function aoaTasks(dir: string): Promise<number> {
  const node = await startNode({ id: 'bench-aoa', dataDir: join(dir, 'aoa'), logger, http: false, modules: [aoaModule({ minWorkers: 64, maxWorkers: 64 })] });
  try {
    const aoa = node.module<AoaApi>('aoa');
    const lanes = async (n: number): Promise<void> => {
      let next = 0;
      await Promise.all(Array.from({ length: SUBMITTERS }, async () => {
        while (next < n) {
          next++;
          const t = await aoa.submitTask({ task_type: 'NOOP' });
          const done = await aoa.waitFor(t.id);
          if (done.status !== 'completed') throw new Error(`task ${t.id} ended ${done.status}`);
        }
      }));
    };
    await lanes(Math.min(2_000, TASKS)); // warm-up
    const t = performance.now();
    await lanes(TASKS);
    return Math.round(TASKS / ((performance.now() - t) / 1000));
  } finally {
    await node.close();
  }
}

/**
 * SCHEDULES cron jobs (`S * * * * *`, S spread over the minute, so about SCHEDULES/60 fire
 * together each second), each fire a NOOP task on the real runtime, over LATENESS_WINDOW_MS:
 * fire lateness (the wake that decides a fire minus its nominal time), enqueue lateness (its
 * task committed in the runtime, after the decision's own commit, minus the nominal time),
 * the heap each schedule holds and its stored record's size.
 */
async function scheduler(dir: string): Promise<{ p50: number; p99: number; max: number; enqP50: number; enqP99: number; fires: number; heapBytes: number; storedBytes: number }> {
  const node = await startNode({ id: 'bench-sched', dataDir: join(dir, 'sched'), logger, http: false, modules: [aoaModule({ minWorkers: 16, maxWorkers: 16 }), schedulerModule()] });
  try {
    const s = node.module<Scheduler>('scheduler');
    const heap0 = heapAfterGc();
    const ids: string[] = [];
    for (let i = 0; i < SCHEDULES; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, SCHEDULES - i) }, (_, j) => s.create({
        name: `bench-${i + j}`, schedule: { type: 'cron', expression: `${(i + j) % 60} * * * * *` }, task: { task_type: 'NOOP', payload: {} },
      })));
      ids.push(...batch.map((v) => v.id));
    }
    // every job actor has started and armed its timer
    await Promise.all(ids.slice(-100).map((id) => s.refresh(id)));
    const heapBytes = (heapAfterGc() - heap0) / SCHEDULES;
    const db = node.store!.db('schedules');
    let stored = 0;
    for (const id of ids.slice(0, 1_000)) stored += ((db as unknown as { getBinary(k: string): Buffer | undefined }).getBinary(id))?.length ?? 0;
    const storedBytes = stored / Math.min(1_000, ids.length);
    note(`scheduler: ${SCHEDULES} schedules, measuring fire lateness for ${LATENESS_WINDOW_MS} ms`);
    const fired = (): number => (s.stats() as { fired: number }).fired;
    const f0 = fired();
    await new Promise((r) => setTimeout(r, LATENESS_WINDOW_MS));
    const n = fired() - f0;
    const fire = s.latenesses('fire').slice(-n).sort((a, b) => a - b);
    const enq = s.latenesses('enqueue').slice(-n).sort((a, b) => a - b);
    return {
      p50: round(percentile(fire, 50), 2), p99: round(percentile(fire, 99), 2), max: round(fire.at(-1) ?? NaN, 2),
      enqP50: round(percentile(enq, 50), 2), enqP99: round(percentile(enq, 99), 2),
      fires: n, heapBytes: Math.round(heapBytes), storedBytes: Math.round(storedBytes),
    };
  } finally {
    await node.close();
  }
}

export async function benchAoa(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-aoa-'));
  try {
    note('raw lmdb puts (aoa baseline)');
    const raw = await rawLmdb(dir);
    note('aoa NOOP tasks, submit to complete');
    const tasks = await aoaTasks(dir);
    note('scheduler');
    const sch = await scheduler(dir);
    return {
      aoa_tasks_per_s: tasks,
      aoa_raw_lmdb_put_per_s: raw,
      aoa_tasks_vs_raw_lmdb: round(tasks / raw),
      scheduler_fire_lateness_p50_ms: sch.p50,
      scheduler_fire_lateness_p99_ms: sch.p99,
      scheduler_fire_lateness_max_ms: sch.max,
      scheduler_enqueue_lateness_p50_ms: sch.enqP50,
      scheduler_enqueue_lateness_p99_ms: sch.enqP99,
      scheduler_fires_measured: sch.fires,
      scheduler_bytes_per_schedule: sch.heapBytes + sch.storedBytes,
      scheduler_heap_bytes_per_schedule: sch.heapBytes,
      scheduler_stored_bytes_per_schedule: sch.storedBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
