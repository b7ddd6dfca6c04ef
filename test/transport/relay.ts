import { WebSocket } from 'ws';
import { decode, encode, newId } from '../../protocol/index.js';

/** What a relaying outsider achieved against two nodes. */
export interface RelayOutcome {
  /** Proof frames the nodes handed the relay (each forwarded to the other node). */
  proofs: number;
  /** Close codes the two nodes ended the relay's sockets with, A then B. */
  closed: [number, number];
}

interface Side {
  ws: WebSocket;
  hello: Promise<Buffer>;
  closed: Promise<number>;
  proofs: number;
}

function open(url: string): Promise<Side> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  ws.on('error', () => undefined);
  const side: Side = {
    ws,
    hello: new Promise((resolve) => ws.once('message', (data) => resolve(data as Buffer))),
    closed: new Promise((resolve) => ws.on('close', (code) => resolve(code))),
    proofs: 0,
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(side));
    ws.once('error', reject);
  });
}

/**
 * An outsider without the cluster secret attacks two live nodes: it connects to both,
 * hands each node the other's hello, forwards every later frame (proofs included) from one
 * to the other, then sends each node a batch that claims to come from the other node. It
 * waits up to `patienceMs` for proofs to pass through before it sends (the attacker's
 * patience, not a test's proof: the outcome is read from the close codes the nodes answer
 * the batch with).
 *
 * @example
 * const out = await relayAttack(a.url, b.url, { a: 'a', b: 'b' }, 'user/sink', { n: 1 });
 */
export async function relayAttack(
  urlA: string,
  urlB: string,
  nodes: { a: string; b: string },
  path: string,
  payload: unknown,
  patienceMs = 500,
): Promise<RelayOutcome> {
  const [a, b] = await Promise.all([open(urlA), open(urlB)]);
  const [helloA, helloB] = await Promise.all([a.hello, b.hello]);
  let proofsSeen: () => void = () => undefined;
  const bothProofs = new Promise<void>((resolve) => (proofsSeen = resolve));
  const forward = (from: Side, to: Side) => {
    from.ws.on('message', (data) => {
      const frame = decode(data as Buffer) as { t?: string };
      if (frame.t === 'hello') return; // the first frame, handed over below
      if (frame.t === 'proof') from.proofs++;
      if (a.proofs > 0 && b.proofs > 0) proofsSeen();
      if (to.ws.readyState === WebSocket.OPEN) to.ws.send(data as Buffer);
    });
  };
  forward(a, b);
  forward(b, a);
  a.ws.send(helloB);
  b.ws.send(helloA);
  await Promise.race([bothProofs, a.closed, b.closed, new Promise((r) => setTimeout(r, patienceMs))]);
  const inject = (side: Side, target: string, claimed: string) => {
    const env = { id: newId(), to: `troupe://${target}/${path}`, type: 'relay.injected', createdAt: Date.now(), from: `troupe://${claimed}/user/forged`, payload };
    if (side.ws.readyState === WebSocket.OPEN) side.ws.send(encode({ t: 'batch', envs: [env] }));
  };
  inject(a, nodes.a, nodes.b);
  inject(b, nodes.b, nodes.a);
  // A node that took the batch keeps the link open; close ours so both promises settle. (A
  // node that refuses it closes at once; the wait only bounds a failing run, so it is generous.)
  const settle = (s: Side) => Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => { s.ws.terminate(); r(-1); }, 10_000))]);
  const closed = await Promise.all([settle(a), settle(b)]);
  return { proofs: a.proofs + b.proofs, closed: [closed[0]!, closed[1]!] };
}
