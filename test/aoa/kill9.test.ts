import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbTaskStore, NodeStore, type StoredTask } from '../../storage/index.js';
import { startFixture, type TroupeProcess } from '../process.js';
import { silent, tempDir, until } from '../helpers.js';

const procs: TroupeProcess[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill();
  for (const d of dirs.splice(0)) d();
});

/** Tasks submitted, from this many concurrent HTTP submitters. */
const N = 200;
const SUBMITTERS = 8;
/** Every tenth task runs for 2 s, so the kill can be timed to land while one is running. */
const LONG = (i: number): boolean => i % 10 === 5;
const KEY = (i: number): string => `k9-${i}`;

interface Line { kind: 'start' | 'end'; id: string; attempt: number }

/** Poll (every 200 ms, at most `ms`) until `cond` holds. */
async function poll(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function readRuns(file: string): { before: Line[]; after: Line[] } {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const [a = '', b = ''] = text.split('kill\n');
  const parse = (s: string): Line[] => s.split('\n').filter((l) => l.startsWith('start ') || l.startsWith('end ')).map((l) => {
    const [kind, id, attempt] = l.split(' ');
    return { kind: kind as Line['kind'], id: id!, attempt: Number(attempt) };
  });
  return { before: parse(a), after: parse(b) };
}

async function submit(url: string, i: number): Promise<{ status: number; id?: string }> {
  const r = await fetch(`${url}/api/v1/aoa/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ task_type: 'SLOW', payload: { ms: LONG(i) ? 2_000 : 25 }, idempotency_key: KEY(i), max_retries: 10 }),
  });
  const body = await r.json() as { id?: string };
  return { status: r.status, ...(body.id ? { id: body.id } : {}) };
}

/** Every SLOW task the node lists, all pages. */
async function listAll(url: string): Promise<Array<{ id: string; status: string; attempts: number; idempotency_key?: string; result?: { ran: number } }>> {
  const out = [];
  let after: string | undefined;
  for (;;) {
    const r = await fetch(`${url}/api/v1/aoa/tasks?task_type=SLOW&limit=1000${after ? `&after=${after}` : ''}`);
    const page = await r.json() as { tasks: Array<{ id: string; status: string; attempts: number; idempotency_key?: string; result?: { ran: number } }>; next?: string };
    if (r.status !== 200) throw new Error(`list answered ${r.status}: ${JSON.stringify(page)}`);
    out.push(...page.tasks);
    if (!page.next) return out;
    after = page.next;
  }
}

/** What the killed node's LMDB holds (read after the kill, before the restart). */
async function recorded(dataDir: string): Promise<Map<string, StoredTask>> {
  const store = await NodeStore.open({ dir: dataDir, logger: silent });
  try {
    const tasks = new LmdbTaskStore(store);
    const out = new Map<string, StoredTask>();
    let after: string | undefined;
    for (;;) {
      const page = tasks.list({}, 1000, after);
      for (const t of page.tasks) out.set(t.id, t);
      if (!page.next) return out;
      after = page.next;
    }
  } finally {
    await store.close();
  }
}

describe('task runtime under kill -9 (real processes, real LMDB)', () => {
  it('runs every acknowledged task to completion after a restart; none recorded completed runs again; every run is a counted attempt', async () => {
    const t = tempDir('troupe-aoa-k9-');
    dirs.push(t.cleanup);
    const data = join(t.dir, 'data');
    const runs = join(t.dir, 'runs.log');

    const first = await startFixture('aoa-node.mjs', [data, runs]);
    procs.push(first);
    const acked = new Map<string, string>();
    let next = 0;
    let killed = false;
    const submitters = Array.from({ length: SUBMITTERS }, async () => {
      while (next < N && !killed) {
        const i = next++;
        try {
          const r = await submit(first.ready.http, i);
          if (r.status === 201 && r.id) acked.set(KEY(i), r.id);
          else if (!killed) throw new Error(`submit ${i} answered ${r.status}`);
        } catch (e) {
          if (!killed) throw e;
        }
      }
    });
    // kill while tasks are running and submitters are still sending
    // (a long task seen started is still running when the kill lands: it runs for 2 s)
    const longIds = (): Set<string> => new Set([...acked].filter(([k]) => LONG(Number(k.split('-').at(-1)))).map(([, id]) => id));
    await until(() => {
      const lines = readRuns(runs).before;
      const ends = lines.filter((l) => l.kind === 'end').length;
      const ended = new Set(lines.filter((l) => l.kind === 'end').map((l) => `${l.id} ${l.attempt}`));
      const long = longIds();
      const longRunning = lines.some((l) => l.kind === 'start' && long.has(l.id) && !ended.has(`${l.id} ${l.attempt}`));
      return ends >= 10 && longRunning && acked.size < N;
    }, 60_000, 'finished runs and a long run in flight while submitting');
    killed = true;
    await first.kill();
    await Promise.all(submitters);
    appendFileSync(runs, 'kill\n');

    const before = readRuns(runs).before;
    const startedBefore = new Set(before.filter((l) => l.kind === 'start').map((l) => `${l.id} ${l.attempt}`));
    const endedBefore = new Set(before.filter((l) => l.kind === 'end').map((l) => `${l.id} ${l.attempt}`));
    const inFlight = [...startedBefore].filter((k) => !endedBefore.has(k));
    expect(inFlight.length, 'the kill landed while attempts were running').toBeGreaterThan(0);
    expect(acked.size, 'the kill landed before every task was submitted').toBeLessThan(N);

    // what the dead node had committed: every acknowledged task is there
    const atKill = await recorded(data);
    for (const [key, id] of acked) expect(atKill.get(id)?.idempotency_key, key).toBe(key);
    const completedAtKill = [...atKill.values()].filter((x) => x.status === 'completed').map((x) => x.id);
    expect(completedAtKill.length).toBeGreaterThan(0);
    // an attempt that started is recorded: a running record or a later one
    for (const k of startedBefore) {
      const [id, attempt] = k.split(' ');
      expect(atKill.get(id!)?.attempts ?? 0, `attempt ${k} is counted`).toBeGreaterThanOrEqual(Number(attempt));
    }

    const second = await startFixture('aoa-node.mjs', [data, runs]);
    procs.push(second);
    const url = second.ready.http;
    // the unacknowledged keys again (maybe for the first time), and every 4th acknowledged one: that answers its task
    const again = Array.from({ length: N }, (_, i) => i).filter((i) => !acked.has(KEY(i)) || i % 4 === 0);
    const ids = new Map<string, string>();
    await Promise.all(Array.from({ length: SUBMITTERS }, async () => {
      for (let i = again.shift(); i !== undefined; i = again.shift()) {
        const r = await submit(url, i);
        expect(r.status).toBe(201);
        ids.set(KEY(i), r.id!);
      }
    }));
    for (const [key, id] of acked) if (ids.has(key)) expect(ids.get(key), key).toBe(id);

    await poll(async () => (await listAll(url)).filter((x) => x.status === 'completed').length >= N, 45_000, 'every task completed');
    const all = await listAll(url);
    expect(all).toHaveLength(N);
    expect(new Set(all.map((x) => x.idempotency_key)).size).toBe(N);
    expect(all.every((x) => x.status === 'completed')).toBe(true);

    const { after } = readRuns(runs);
    const startsAfter = new Map<string, number>();
    for (const l of after) if (l.kind === 'start') startsAfter.set(l.id, (startsAfter.get(l.id) ?? 0) + 1);
    // none that was recorded completed ran again
    for (const id of completedAtKill) expect(startsAfter.get(id) ?? 0, `completed task ${id} ran again`).toBe(0);
    // the interrupted attempts ran again, each once, after the restart
    for (const k of inFlight) {
      const id = k.split(' ')[0]!;
      if (atKill.get(id)?.status !== 'completed') expect(startsAfter.get(id), `interrupted ${k}`).toBe(1);
    }
    // every run is an attempt the record counts (a start committed just before the kill may have no run)
    const starts = new Map<string, number>();
    for (const l of [...before, ...after]) if (l.kind === 'start') starts.set(l.id, (starts.get(l.id) ?? 0) + 1);
    for (const x of all) {
      const n = starts.get(x.id) ?? 0;
      expect(n, `runs of ${x.id}`).toBeGreaterThanOrEqual(1);
      expect(x.attempts - n, `attempts of ${x.id} (${x.attempts}) against its runs (${n})`).toBeGreaterThanOrEqual(0);
      expect(x.attempts - n).toBeLessThanOrEqual(1);
      expect(x.result?.ran).toBe(x.attempts);
    }
    expect(second.stderr()).toBe('');
  });
});
