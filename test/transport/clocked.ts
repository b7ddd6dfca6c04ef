import type { ManualClock } from '../../protocol/index.js';
import { until } from '../helpers.js';
import type { PeerTransport } from '../../transport/index.js';

/** Anything with a peer transport: a test transport, or a node's cluster transport. */
export interface Linked {
  t: PeerTransport;
}

/**
 * Driving transports that share a ManualClock: time moves only when the test says so, and
 * between two steps every frame the nodes wrote to each other is read first. So a node hears
 * every heartbeat of a live peer before the next step, and silence is what the test made.
 */

/** The heartbeat tick a transport runs at for `heartbeatMs` (see PeerTransport). */
export const tickOf = (heartbeatMs: number): number => Math.max(5, Math.floor(heartbeatMs / 8));

/**
 * Wait until everything written on the active link of every pair of `nodes` has been read
 * at the other end (the two ends of one socket count the same frames), after letting
 * this turn's flushes run.
 */
export async function quiesce(nodes: Linked[]): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await until(() => {
    for (const x of nodes) {
      for (const y of nodes) {
        if (x === y) continue;
        const out = x.t.links().find((l) => l.active && l.node === y.t.nodeId);
        const back = y.t.links().find((l) => l.active && l.node === x.t.nodeId);
        if (out === undefined || back === undefined) continue;
        if (out.framesOut !== back.framesIn) return false;
      }
    }
    return true;
  }, 10_000, 'frames between live nodes read');
}

/** Advance `clock` by `ms` one tick at a time, quiescing `nodes` after each tick. */
export async function drive(clock: ManualClock, nodes: Linked[], ms: number, tickMs: number): Promise<void> {
  for (let t = 0; t < ms; t += tickMs) {
    clock.advance(Math.min(tickMs, ms - t));
    await quiesce(nodes);
  }
}

/**
 * Tick `clock` (quiescing after each tick) until `cond` holds; at most `maxMs` of clock time.
 * Dials and reconnects wait on the clock, so they need it to move.
 */
export async function driveUntil(clock: ManualClock, nodes: Linked[], tickMs: number, cond: () => boolean, maxMs: number, what: string): Promise<void> {
  for (let t = 0; t <= maxMs; t += tickMs) {
    if (cond()) return;
    clock.advance(tickMs);
    await quiesce(nodes);
    // the sockets of a link that is still connecting or handshaking have frames in flight
    // that quiesce does not count yet: give them a moment of real time to land
    for (let i = 0; i < 20 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  }
  if (!cond()) throw new Error(`${what}: not reached within ${maxMs}ms of clock time`);
}

/** Every node holds exactly one link per other node, open and active. */
export function settled(nodes: Linked[]): boolean {
  return nodes.every((n) => {
    const links = n.t.links();
    return links.length === nodes.length - 1 && links.every((l) => l.state === 'open' && l.active);
  });
}
