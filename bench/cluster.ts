import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { startNode, type RunningNode } from '../index.js';
import { bestRate, note, round } from './util.js';

const TELLS = 200_000;
const CHUNK = 2_000;
const ASKS = 50_000;
const LANES = 100;
const packr = new Packr({ useRecords: false });

/** The message every figure sends: a counter increment with a small payload. */
const message = (i: number): { type: string; i: number; s: string } => ({ type: 'bench.inc', i, s: 'x'.repeat(32) });
const envelope = (i: number): Record<string, unknown> => ({
  id: `b-${i}`, from: 'troupe://a/user/bench', to: 'troupe://b/user/counter', type: 'bench.inc', createdAt: Date.now(), payload: message(i),
});
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Measured rounds (tells, and asks after a warm-up), for troupe and raw alike: the best counts (a GC or a noisy neighbour hits both). */
const ROUNDS = 5;

/** Raw ws + msgpackr: envelopes batched per tick into one binary frame, decoded and counted. */
async function rawWs(): Promise<{ tell: number; roundtrips: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let received = 0;
  let onCount: (() => void) | undefined;
  wss.on('connection', (sock) => {
    let out: unknown[] = [];
    let scheduled = false;
    sock.on('message', (data: Buffer) => {
      const batch = packr.unpack(data) as Array<Record<string, unknown>>;
      for (const env of batch) {
        if (env.type === 'bench.ask') {
          out.push({ ...env, type: 'bench.reply' });
          if (!scheduled) {
            scheduled = true;
            setImmediate(() => { scheduled = false; sock.send(packr.pack(out)); out = []; });
          }
        } else {
          received++;
        }
      }
      onCount?.();
    });
  });
  const port = (wss.address() as AddressInfo).port;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((r) => client.once('open', () => r()));
  // tells: the best of ROUNDS rounds, as for troupe
  let sent = 0;
  const tell = await bestRate(ROUNDS, TELLS, async () => {
    for (let i = 0; i < TELLS; i += CHUNK) {
      const batch = [];
      for (let j = i; j < i + CHUNK; j++) batch.push(envelope(j));
      client.send(packr.pack(batch));
      await turn();
    }
    sent += TELLS;
    await new Promise<void>((r) => { onCount = () => { if (received >= sent) r(); }; onCount(); });
  });
  // round trips: LANES concurrent requesters, requests and replies batched per tick
  const waiting = new Map<string, () => void>();
  client.on('message', (data: Buffer) => {
    for (const env of packr.unpack(data) as Array<{ id: string }>) {
      const w = waiting.get(env.id);
      waiting.delete(env.id);
      w?.();
    }
  });
  let pendingOut: unknown[] = [];
  let sched = false;
  const request = (id: string): Promise<void> => new Promise((resolve) => {
    waiting.set(id, resolve);
    pendingOut.push({ ...envelope(0), id, type: 'bench.ask' });
    if (!sched) {
      sched = true;
      setImmediate(() => { sched = false; client.send(packr.pack(pendingOut)); pendingOut = []; });
    }
  });
  const lanes = (round: number): Promise<unknown> => Promise.all(Array.from({ length: LANES }, async (_, lane) => {
    for (let i = 0; i < ASKS / LANES; i++) await request(`${round}-${lane}-${i}`);
  }));
  await lanes(0); // warm-up, as for troupe below
  let measured = 0;
  const roundtrips = await bestRate(ROUNDS, ASKS, async () => { await lanes(++measured); });
  client.close();
  await new Promise<void>((r) => wss.close(() => r()));
  return { tell, roundtrips };
}

/** The same workloads through two troupe nodes: tells to a counter on the other node, asks to an echo. */
async function remote(): Promise<{ tell: number; ask: number }> {
  const logger = pino({ level: 'silent' });
  const b = await startNode({ id: 'b', logger, http: false, cluster: { port: 0 } });
  const a = await startNode({ id: 'a', logger, http: false, cluster: { port: 0, seeds: [b.peer!.url] } });
  try {
    b.spawn<number, { type: string }>((s, m, ctx) => {
      if (m.type === 'get') { ctx.reply(s); return s; }
      return s + 1;
    }, { name: 'counter', initialState: 0, mailboxCapacity: TELLS * ROUNDS + 10 });
    b.spawn((_s, m, ctx) => ctx.reply(m), { name: 'echo' });
    await memberUp(a, 'b');
    let sent = 0;
    const tell = await bestRate(ROUNDS, TELLS, async () => {
      for (let i = 0; i < TELLS; i += CHUNK) {
        for (let j = i; j < i + CHUNK; j++) a.tell('troupe://b/user/counter', message(j));
        await turn();
      }
      sent += TELLS;
      const got = await a.ask('troupe://b/user/counter', { type: 'get' }, { timeoutMs: 60_000 });
      if (got !== sent) throw new Error(`remote tell lost messages: ${String(got)} of ${sent}`);
    });
    const lanes = (): Promise<unknown> => Promise.all(Array.from({ length: LANES }, async (_, lane) => {
      for (let i = 0; i < ASKS / LANES; i++) await a.ask('troupe://b/user/echo', message(lane * ASKS + i));
    }));
    await lanes(); // warm-up: both sides measure code the JIT has seen
    const ask = await bestRate(ROUNDS, ASKS, async () => { await lanes(); });
    return { tell, ask };
  } finally {
    await a.close();
    await b.close();
  }
}

/** Time from SIGKILL of a peer process to member.down on this node, at the default 500 ms heartbeat. */
async function failureDetection(): Promise<{ ms: number; heartbeatMs: number }> {
  const heartbeatMs = 500;
  const logger = pino({ level: 'silent' });
  const a = await startNode({ id: 'fd-a', logger, http: false, cluster: { port: 0, heartbeatMs } });
  const dir = mkdtempSync(join(tmpdir(), 'troupe-fd-'));
  const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'cluster-node.mjs');
  const child = spawn(process.execPath, [fixture, 'fd-b', dir, '0', a.peer!.url, String(heartbeatMs)], { stdio: 'ignore' });
  try {
    await memberUp(a, 'fd-b');
    const down = new Promise<number>((resolve) => a.inspect((e) => { if (e.type === 'member.down' && e.node === 'fd-b') resolve(performance.now()); }));
    const t = performance.now();
    child.kill('SIGKILL');
    return { ms: round((await down) - t, 1), heartbeatMs };
  } finally {
    child.kill('SIGKILL');
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wait (at most 15 s) until `node` sees `member` up. */
async function memberUp(node: RunningNode, member: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!node.clusterInfo().members.some((m) => m.node === member && m.status === 'up')) {
    if (Date.now() > end) throw new Error(`${member} did not come up`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function benchCluster(): Promise<Record<string, number>> {
  note('raw ws + msgpackr');
  const raw = await rawWs();
  note('remote tell/ask between two nodes');
  const r = await remote();
  note('failure detection');
  const fd = await failureDetection();
  return {
    remote_tell_msgs_per_s: r.tell,
    raw_ws_msgs_per_s: raw.tell,
    remote_tell_vs_raw_ws: round(r.tell / raw.tell),
    remote_ask_per_s: r.ask,
    raw_ws_roundtrips_per_s: raw.roundtrips,
    remote_ask_vs_raw_ws: round(r.ask / raw.roundtrips),
    failure_detect_ms: fd.ms,
    heartbeat_ms: fd.heartbeatMs,
  };
}
