import { newId, type Envelope } from '../../protocol/index.js';
import { PeerTransport, type EnvelopeMeta, type PeerTransportOptions, type TransportEvent } from '../../transport/index.js';

/** Short timers so failure detection and reconnects happen within test time. */
export const FAST = {
  heartbeatMs: 100,
  gossipMs: 200,
  reconnect: { minMs: 20, maxMs: 200, randomFactor: 0.2 },
  // a deadline for a handshake that must finish: generous, so a busy machine never turns a
  // node's answer into a handshake timeout (tests of the timeout itself set their own, on a clock)
  handshakeTimeoutMs: 15_000,
  closeTimeoutMs: 500,
} as const;

export interface TestNode {
  t: PeerTransport;
  url: string;
  received: Array<{ env: Envelope; meta: EnvelopeMeta }>;
  events: TransportEvent[];
  /** Events with the time they were emitted on the node's clock. */
  timeline: Array<{ at: number; e: TransportEvent }>;
  onEnvelope?: (env: Envelope, meta: EnvelopeMeta) => void;
}

/** Start a transport on 127.0.0.1:0 (or the given port) that records what it receives and emits. */
export async function startNode(
  nodeId: string,
  options: Partial<PeerTransportOptions> & { record?: boolean } = {},
): Promise<TestNode> {
  const { record = true, ...rest } = options;
  const node: TestNode = { t: undefined as unknown as PeerTransport, url: '', received: [], events: [], timeline: [] };
  node.t = new PeerTransport({
    nodeId,
    ...FAST,
    ...rest,
    onEnvelope: (env, meta) => {
      if (record) node.received.push({ env, meta });
      node.onEnvelope?.(env, meta);
    },
    onEvent: (e) => {
      node.events.push(e);
      node.timeline.push({ at: (rest.clock ?? Date).now(), e });
    },
  });
  node.url = (await node.t.start()).url;
  return node;
}

export function envelope(toNode: string, payload: unknown = {}, type = 'test.msg'): Envelope {
  return { id: newId(), to: `troupe://${toNode}/user/sink`, type, createdAt: Date.now(), payload };
}

export function allUp(nodes: TestNode[], count = nodes.length): boolean {
  return nodes.every((n) => {
    const ms = n.t.members();
    return ms.length === count && ms.every((m) => m.status === 'up');
  });
}

export async function closeAll(nodes: Array<TestNode | undefined>): Promise<void> {
  await Promise.all(nodes.map((n) => n?.t.close()));
}

import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { decode, encode } from '../../protocol/index.js';
import { computeProof, PROTOCOL_VERSION } from '../../transport/index.js';

export interface RawClient {
  ws: WebSocket;
  frames: unknown[];
  closed: Promise<{ code: number; reason: string }>;
  next(pred?: (f: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  send(value: unknown): void;
}

/** A bare ws client to a peer port: sends whatever the test wants and records what comes back. */
export async function rawConnect(url: string): Promise<RawClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const frames: unknown[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    try {
      frames.push(decode(data as Buffer));
    } catch {
      frames.push(data);
    }
    for (const w of waiters.splice(0)) w();
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let seen = 0;
  return {
    ws,
    frames,
    closed,
    send: (value) => ws.send(value instanceof Uint8Array ? value : encode(value)),
    async next(pred = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (seen < frames.length) {
          const f = frames[seen++];
          if (pred(f)) return f;
        }
        if (Date.now() > deadline) throw new Error('no matching frame');
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 20);
        });
      }
    },
  };
}

export interface HandshakeOptions {
  nodeId: string;
  cluster?: string;
  secret?: string;
  incarnation?: string;
  peerUrl?: string;
  protocolVersion?: number;
}

/** Connect and run the peer handshake by hand as a dialer (hello, then a proof over both nonces). */
export async function rawHandshake(url: string, o: HandshakeOptions): Promise<RawClient & { server: { nodeId: string } }> {
  const c = await rawConnect(url);
  const cluster = o.cluster ?? 'troupe';
  const incarnation = o.incarnation ?? `raw-${randomBytes(4).toString('hex')}`;
  const nonce = randomBytes(32);
  c.send({ t: 'hello', nodeId: o.nodeId, cluster, protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION, incarnation, peerUrl: o.peerUrl ?? 'ws://127.0.0.1:9', nonce });
  const hello = (await c.next((f) => (f as { t?: string }).t === 'hello')) as { nodeId: string; incarnation: string; nonce: Uint8Array };
  c.send({
    t: 'proof',
    mac: computeProof(o.secret, {
      cluster,
      role: 'dialer',
      dialer: { node: o.nodeId, incarnation, nonce },
      acceptor: { node: hello.nodeId, incarnation: hello.incarnation, nonce: hello.nonce },
    }),
  });
  return Object.assign(c, { server: { nodeId: hello.nodeId } });
}
