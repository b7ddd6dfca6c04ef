import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { decode, encode, isTroupeError, type Envelope } from '../protocol/index.js';
import { PeerTransport } from './peer-transport.js';

/** Options of the remote-tell benchmarks. */
export interface TellBenchOptions {
  /** Envelopes to send (default 200_000). */
  envelopes?: number;
  /** Size of a string payload per envelope (default 64). */
  payloadBytes?: number;
  /** Envelopes sent per event-loop turn before yielding (default 2_000). */
  chunk?: number;
}

/** One benchmark run. */
export interface TellBenchResult {
  name: string;
  envelopes: number;
  ms: number;
  perSecond: number;
  /** Binary ws messages the sender wrote. */
  frames: number;
}

const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

function makeEnvelope(i: number, payload: string): Envelope {
  return { id: `b-${i}`, from: 'troupe://a/user/bench', to: 'troupe://b/user/sink', type: 'bench.tell', createdAt: 1, payload: { i, s: payload } };
}

function settle(n: number): { hit: () => void; done: Promise<void> } {
  let count = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    hit: () => {
      if (++count === n) resolve();
    },
    done,
  };
}

/**
 * Remote tell through two {@link PeerTransport}s on loopback in this process: batching,
 * framing and per-envelope validation included.
 *
 * @example
 * const r = await benchRemoteTell({ envelopes: 100_000 }); // { perSecond: ..., frames: ... }
 */
export async function benchRemoteTell(o: TellBenchOptions = {}): Promise<TellBenchResult> {
  const n = o.envelopes ?? 200_000;
  const chunk = o.chunk ?? 2_000;
  const payload = 'x'.repeat(o.payloadBytes ?? 64);
  const got = settle(n);
  const b = new PeerTransport({ nodeId: 'b', onEnvelope: got.hit, maxQueue: Math.max(10_000, chunk * 2) });
  const { url } = await b.start();
  const a = new PeerTransport({ nodeId: 'a', seeds: [url], onEnvelope: () => undefined, maxQueue: Math.max(10_000, chunk * 2) });
  await a.start();
  try {
    while (a.status('b') !== 'up') await new Promise((r) => setTimeout(r, 5));
    const frames0 = a.stats().framesOut;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      try {
        a.send('b', makeEnvelope(i, payload));
      } catch (e) {
        // Backpressure reached the producer: wait for the link to drain, as a sender should.
        if (!isTroupeError(e, 'TROUPE_ERR_TRANSPORT_QUEUE_FULL')) throw e;
        await new Promise((r) => setTimeout(r, 1));
        i--;
        continue;
      }
      if (i % chunk === chunk - 1) await yieldTurn();
    }
    await got.done;
    const ms = performance.now() - t0;
    return { name: 'transport', envelopes: n, ms, perSecond: Math.round(n / (ms / 1000)), frames: a.stats().framesOut - frames0 };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/**
 * The baseline: raw `ws` plus msgpackr, one batch message per chunk, no validation, no
 * queues, no backpressure. {@link benchRemoteTell} should reach a good fraction of it.
 *
 * @example
 * const raw = await benchRawWsBatched({ envelopes: 100_000 });
 */
export async function benchRawWsBatched(o: TellBenchOptions = {}): Promise<TellBenchResult> {
  const n = o.envelopes ?? 200_000;
  const chunk = o.chunk ?? 2_000;
  const payload = 'x'.repeat(o.payloadBytes ?? 64);
  const got = settle(n);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const frame = decode(data as Buffer, Number.MAX_SAFE_INTEGER) as { envs: Envelope[] };
      for (let i = 0; i < frame.envs.length; i++) got.hit();
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await new Promise<void>((r, j) => {
    ws.once('open', () => r());
    ws.once('error', j);
  });
  try {
    let frames = 0;
    const t0 = performance.now();
    let batch: Envelope[] = [];
    for (let i = 0; i < n; i++) {
      batch.push(makeEnvelope(i, payload));
      if (batch.length === chunk || i === n - 1) {
        ws.send(encode({ t: 'batch', envs: batch }));
        frames++;
        batch = [];
        await yieldTurn();
      }
    }
    await got.done;
    const ms = performance.now() - t0;
    return { name: 'raw-ws-msgpackr', envelopes: n, ms, perSecond: Math.round(n / (ms / 1000)), frames };
  } finally {
    ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}

/**
 * Run both and report `ratio = transport / raw` (the target is at least 0.4).
 *
 * @example
 * const { ratio } = await compareRemoteTell();
 */
export async function compareRemoteTell(o: TellBenchOptions = {}): Promise<{ transport: TellBenchResult; raw: TellBenchResult; ratio: number }> {
  // Warm both paths up so the JIT has seen them before timing.
  await benchRawWsBatched({ ...o, envelopes: 20_000 });
  await benchRemoteTell({ ...o, envelopes: 20_000 });
  const raw = await benchRawWsBatched(o);
  const transport = await benchRemoteTell(o);
  return { transport, raw, ratio: Math.round((transport.perSecond / raw.perSecond) * 100) / 100 };
}
