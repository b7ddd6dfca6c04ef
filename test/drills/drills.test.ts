import { afterEach, describe, expect, it } from 'vitest';
import { startNode, DRILLS_MODULE, type DrillsApi, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';

const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  for (const d of dirs.splice(0)) d();
});

async function node(opts: { allowDrills?: boolean; dir?: string; apiKeys?: string[] } = {}): Promise<RunningNode> {
  const dir = opts.dir ?? (() => { const t = tempDir(); dirs.push(t.cleanup); return t.dir; })();
  const n = await startNode({ id: 'd1', dataDir: dir, logger: silent, allowDrills: opts.allowDrills ?? true, http: { port: 0, apiKeys: opts.apiKeys ?? [] }, model: { provider: 'offline' } });
  nodes.push(n);
  return n;
}

/** A worker that counts what it handles (the test's own ledger). */
function worker(n: RunningNode, name: string, options: { mailboxCapacity?: number } = {}): { handled: unknown[] } {
  const ledger = { handled: [] as unknown[] };
  n.spawn((_s, m) => {
    ledger.handled.push(m);
  }, { name, ...options });
  return ledger;
}

async function drill(n: RunningNode, body: unknown, key?: string): Promise<any> {
  const headers = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const res = await fetch(`${n.http!.url}/api/v1/drills`, { method: 'POST', headers, body: JSON.stringify(body) });
  const started = await res.json() as any;
  if (res.status !== 202) return { status: res.status, ...started };
  await n.module<DrillsApi>(DRILLS_MODULE).finished(started.id);
  const got = await fetch(`${n.http!.url}/api/v1/drills/${started.id}`, { headers });
  return got.json();
}

describe('fault drills', () => {
  it('are refused with 403 on a node started without --allow-drills', async () => {
    const n = await node({ allowDrills: false });
    worker(n, 'w');
    const r = await drill(n, { kind: 'crash', target: 'user/w' });
    expect(r.status).toBe(403);
    expect(r.error.code).toBe('TROUPE_ERR_DRILL_DISABLED');
  });

  it('crash: the target throws on its next message, is restarted, and the crashed message is handled again', async () => {
    const n = await node();
    const ledger = worker(n, 'w');
    let restarts = 0;
    n.inspect((e) => { if (e.type === 'actor.restarted' && e.address.endsWith('/user/w')) restarts++; });
    const r = await drill(n, { kind: 'crash', target: 'user/w', durationMs: 3_000 });
    expect(r.status).toBe('finished');
    expect(r.restarts).toBe(restarts);
    expect(r.restarts).toBe(1);
    expect(r.messages.sent).toBe(1);
    // the crashed message was redelivered after the restart: the actor handled it once
    expect(ledger.handled.length).toBe(1);
    expect(r.messages.delivered).toBe(1);
    expect(r.messages.lost).toBe(0);
    expect(r.detectedAt).toBeGreaterThanOrEqual(r.injectedAt);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.detectedAt);
    expect(r.verdict).toBe('held');
  });

  it('kill: the target stops abruptly and its supervisor restarts it', async () => {
    const n = await node();
    worker(n, 'k');
    let failed = 0;
    n.inspect((e) => { if (e.type === 'actor.failed' && e.address.endsWith('/user/k')) failed++; });
    const r = await drill(n, { kind: 'kill', target: 'k' });
    expect(failed).toBe(1);
    expect(r.restarts).toBe(1);
    expect(r.verdict).toBe('held');
  });

  it('poison: a message that crashes its receiver every time is dead-lettered as poison and can be redelivered', async () => {
    const n = await node();
    const ledger = worker(n, 'p');
    let restarts = 0;
    n.inspect((e) => { if (e.type === 'actor.restarted' && e.address.endsWith('/user/p')) restarts++; });
    const r = await drill(n, { kind: 'poison', target: 'user/p', message: { type: 'bad' } });
    const letters = n.deadLetters.list().filter((d) => d.reason === 'poison');
    expect(letters).toHaveLength(1);
    expect(r.messages.deadLettered).toBe(1);
    // poisonAfter 3: it crashes 3 times (restarted after each), then the message is dead-lettered
    expect(r.restarts).toBe(restarts);
    expect(r.restarts).toBe(3);
    expect(ledger.handled).toHaveLength(0);
    expect(r.messages.lost).toBe(0);
    expect(r.verdict).toBe('held');
    // the fault is over: redelivered, it is handled
    await n.deadLetters.redeliver(letters[0]!.id);
    await n.ask('user/p', 'after').catch(() => undefined);
    expect(ledger.handled).toContainEqual({ type: 'bad' });
  });

  it('flood: more messages than the mailbox holds are delivered or refused with overflow errors, none dropped, no crash', async () => {
    const n = await node();
    const ledger = worker(n, 'f', { mailboxCapacity: 10 });
    const r = await drill(n, { kind: 'flood', target: 'user/f', rate: 25 });
    expect(r.messages.sent).toBe(25);
    expect(ledger.handled).toHaveLength(10);
    expect(r.messages.delivered).toBe(10);
    expect(r.messages.deadLettered).toBe(15);
    expect(r.clientErrors).toEqual({ TROUPE_ERR_ACTOR_MAILBOX_FULL: 15 });
    expect(r.messages.lost).toBe(0);
    expect(r.restarts).toBe(0);
    expect(r.verdict).toBe('held');
  });

  it('reports are persisted in LMDB and listed after a restart; the off switch refuses new drills', async () => {
    const t = tempDir();
    dirs.push(t.cleanup);
    let n = await node({ dir: t.dir });
    worker(n, 'w');
    const r = await drill(n, { kind: 'kill', target: 'user/w' });
    await n.close();
    nodes.length = 0;
    n = await node({ dir: t.dir });
    const list = await (await fetch(`${n.http!.url}/api/v1/drills`)).json() as any;
    expect(list.drills.map((d: any) => d.id)).toEqual([r.id]);
    expect((await fetch(`${n.http!.url}/api/v1/drills`, { method: 'DELETE' })).status).toBe(200);
    worker(n, 'w2');
    const refused = await drill(n, { kind: 'kill', target: 'user/w2' });
    expect(refused.status).toBe(403);
  });

  it('needs an API key when keys are set, and a named live target', async () => {
    const n = await node({ apiKeys: ['drill-key-123'] });
    worker(n, 'w');
    expect((await drill(n, { kind: 'crash', target: 'user/w' })).status).toBe(401);
    const none = await drill(n, { kind: 'crash', target: 'user/nobody' }, 'drill-key-123');
    expect(none.status).toBe(400);
    expect(none.error.code).toBe('TROUPE_ERR_DRILL_TARGET');
    const ok = await drill(n, { kind: 'crash', target: 'user/w' }, 'drill-key-123');
    expect(ok.verdict).toBe('held');
  });

  it('refuses a second drill on a target that already has one running, with 409', async () => {
    const n = await node();
    worker(n, 'w');
    const api = n.module<DrillsApi>(DRILLS_MODULE);
    const first = api.start({ kind: 'crash', target: 'user/w' });
    expect(() => api.start({ kind: 'kill', target: 'user/w' })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_DRILL_RUNNING' }));
    expect((await api.finished(first.id)).verdict).toBe('held');
    const again = await drill(n, { kind: 'kill', target: 'user/w' });
    expect(again.verdict).toBe('held');
  });
});
