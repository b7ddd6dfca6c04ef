import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Kernel } from '../actors/index.js';
import { bestRate, note, percentile, round } from './util.js';

const require = createRequire(import.meta.url);
const nact = require('nact') as {
  start: (...a: unknown[]) => any;
  spawn: (p: any, f: any, name?: string) => any;
  dispatch: (r: any, m: unknown, s?: unknown) => void;
  query: (r: any, m: (t: any) => unknown, ms: number) => Promise<unknown>;
  stop: (r: any) => void;
};

const TELLS = 200_000;
const ASKS = 20_000;
const RESTARTS = 2_000;

type CounterMsg = { type: 'inc' } | { type: 'get'; target?: number };

/** The same workload on raw nact: N dispatches to a counter, then a query once all arrived. */
async function rawNactTell(): Promise<number> {
  const system = nact.start();
  const counter = nact.spawn(system, (state: number, msg: { type: string; sender?: unknown }) => {
    if (msg.type === 'get') {
      nact.dispatch(msg.sender, state);
      return state;
    }
    return (state ?? 0) + 1;
  }, 'counter');
  let expected = 0;
  const rate = await bestRate(3, TELLS, async () => {
    for (let i = 0; i < TELLS; i++) nact.dispatch(counter, { type: 'inc' });
    expected += TELLS;
    const got = await nact.query(counter, (sender: unknown) => ({ type: 'get', sender }), 60_000);
    if (got !== expected) throw new Error(`raw nact lost messages: ${String(got)} != ${expected}`);
  });
  nact.stop(system);
  return rate;
}

async function troupeTell(k: Kernel): Promise<number> {
  const counter = k.spawn<number, CounterMsg>((s, m, ctx) => {
    if (m.type === 'get') {
      ctx.reply(s);
      return s;
    }
    return s + 1;
  }, { name: 'counter', initialState: 0, mailboxCapacity: TELLS + 10 });
  let expected = 0;
  return bestRate(3, TELLS, async () => {
    for (let i = 0; i < TELLS; i++) k.tell(counter, { type: 'inc' });
    expected += TELLS;
    const got = await k.ask(counter, { type: 'get' }, { timeoutMs: 60_000 });
    if (got !== expected) throw new Error(`troupe lost messages: ${String(got)} != ${expected}`);
  });
}

async function troupeAsk(k: Kernel): Promise<number> {
  const echo = k.spawn<null, number>((_s, m, ctx) => ctx.reply(m), { name: 'echo' });
  return bestRate(3, ASKS, async () => {
    // 100 concurrent askers, each asking in turn, like many clients of one actor
    const per = ASKS / 100;
    await Promise.all(Array.from({ length: 100 }, async (_, j) => {
      for (let i = 0; i < per; i++) await k.ask(echo, j * per + i);
    }));
  });
}

async function restarts(k: Kernel): Promise<{ p50: number; p99: number; replyP99: number }> {
  const failedAt = new Map<string, number>();
  const samples: number[] = [];
  k.inspect((e) => {
    if (e.type === 'actor.failed') failedAt.set(e.address, performance.now());
    if (e.type === 'actor.restarted') {
      const t = failedAt.get(e.address);
      if (t !== undefined) samples.push(performance.now() - t);
    }
  });
  k.spawnSupervisor({
    name: 'sup', supervision: { maxRestarts: RESTARTS * 10, withinMs: 1_000 },
    children: [{ name: 'w', poisonAfter: 1, behaviour: (_s: unknown, m: string, ctx) => { if (m === 'crash') throw new Error('drill'); ctx.reply(m); } }],
  });
  const replies: number[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const t = performance.now();
    k.tell('user/sup/w', 'crash');
    await k.ask('user/sup/w', 'ping');
    replies.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  replies.sort((a, b) => a - b);
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)), replyP99: round(percentile(replies, 99)) };
}

/** Kernel figures: local tell vs raw nact (same workload, same run), ask rate, restart latency. */
export async function benchKernel(): Promise<Record<string, number>> {
  note('raw nact tell');
  const raw = await rawNactTell();
  const k = new Kernel({ id: 'bench', logger: pino({ level: 'silent' }) });
  try {
    note('troupe local tell');
    const tell = await troupeTell(k);
    note('troupe local ask');
    const ask = await troupeAsk(k);
    note('restarts');
    const r = await restarts(k);
    return {
      local_tell_msgs_per_s: tell,
      raw_nact_tell_msgs_per_s: raw,
      local_tell_vs_raw_nact: round(tell / raw),
      local_ask_per_s: ask,
      restart_p50_ms: r.p50,
      restart_p99_ms: r.p99,
      crash_to_reply_p99_ms: r.replyP99,
    };
  } finally {
    await k.close();
  }
}
