import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { defaultModules, fireId, type AoaApi, type Scheduler } from '../../actors/index.js';
import { silent, tempDir } from '../helpers.js';
import { SteppingClock, runUntil } from './helpers.js';

const T0 = Date.parse('2026-03-27T00:00:00.000Z');
const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  for (const d of dirs.splice(0)) d();
});

async function node(clock: SteppingClock, dataDir: string): Promise<RunningNode> {
  const n = await startNode({ id: 'sa', logger: silent, clock, dataDir, http: false, modules: defaultModules({ model: { provider: 'offline' } }) });
  nodes.push(n);
  return n;
}

describe('scheduler on the default modules (the real aoa task runtime)', () => {
  it('each fire becomes one aoa task keyed by its fire id; the job sees the tasks settle; a restart submits nothing twice', async () => {
    const t = tempDir();
    dirs.push(t.cleanup);
    const clock = new SteppingClock(T0);
    let n = await node(clock, t.dir);
    let s = n.module<Scheduler>('scheduler');
    let ran = 0;
    n.module<AoaApi>('aoa').registerHandler('TICK', async () => ({ n: ++ran }));
    const job = await s.create({ name: 'tick', schedule: { type: 'interval', seconds: 60 }, task: { task_type: 'TICK', payload: {} } });
    await runUntil(clock, s, T0 + 185_000);
    const aoa = n.module<AoaApi>('aoa');
    const keys = [60_000, 120_000, 180_000].map((d) => fireId(job.id, T0 + d));
    const tasks = aoa.listTasks({}).tasks.filter((x) => x.task_type === 'TICK');
    expect(tasks.map((x) => x.idempotency_key).sort()).toEqual([...keys].sort());
    for (const x of tasks) expect((await aoa.waitFor(x.id)).status).toBe('completed');
    await runUntil(clock, s, T0 + 190_000);
    const v = await s.refresh(job.id);
    expect(v.run_count).toBe(3);
    expect(v.counters).toMatchObject({ fired: 3, succeeded: 3, failed: 0 });
    expect(ran).toBe(3);

    await n.close();
    nodes.length = 0;
    n = await node(clock, t.dir);
    s = n.module<Scheduler>('scheduler');
    n.module<AoaApi>('aoa').registerHandler('TICK', async () => ({ n: ++ran }));
    await runUntil(clock, s, T0 + 200_000);
    expect(n.module<AoaApi>('aoa').listTasks({}).tasks.filter((x) => x.task_type === 'TICK')).toHaveLength(3);
    expect(ran).toBe(3);
  });
});
