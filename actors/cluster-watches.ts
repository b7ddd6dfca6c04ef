import type { Envelope, Terminated } from '../protocol/index.js';
import { formatAddress, newId } from '../protocol/index.js';
import type { Kernel } from './kernel/index.js';
import { TERMINATED, UNWATCH, WATCH, terminatedPayload, watchPayload } from './cluster-control.js';

interface RemoteWatch {
  node: string;
  target: string;
  deliver: (s: Terminated) => void;
}

/** What the watches need from the cluster: a send that throws when the node is unreachable, and control envelopes. */
export interface WatchLinks {
  send(node: string, env: Envelope): void;
  control(to: string, type: string, payload: unknown): Envelope;
}

/**
 * Death watches across nodes, both ways: the watches this node placed on actors elsewhere
 * (fired by the other node's `troupe.terminated`, or here with node-down when that node
 * goes), and the watches other nodes placed on this node's actors (dropped when the
 * watcher's node goes).
 */
export class ClusterWatches {
  /** Watches this node placed on actors elsewhere, by watch id. */
  private readonly placed = new Map<string, RemoteWatch>();
  /** Unwatch functions for watches other nodes placed on our actors, by watch id. */
  private readonly served = new Map<string, { node: string; unwatch: () => void }>();

  constructor(private readonly kernel: Kernel, private readonly links: WatchLinks) {}

  get placedCount(): number {
    return this.placed.size;
  }

  get servedCount(): number {
    return this.served.size;
  }

  /** Watch `target` on `node`; an unreachable node fires node-down at once. */
  watch(node: string, target: string, deliver: (s: Terminated) => void): string {
    const watchId = newId();
    this.placed.set(watchId, { node, target, deliver });
    try {
      this.links.send(node, this.links.control(target, WATCH, { watchId }));
    } catch {
      this.placed.delete(watchId);
      deliver({ type: 'signal.terminated', ref: target, reason: 'node-down' });
    }
    return watchId;
  }

  unwatch(watchId: string): void {
    const w = this.placed.get(watchId);
    if (!w) return;
    this.placed.delete(watchId);
    try {
      this.links.send(w.node, this.links.control(w.target, UNWATCH, { watchId }));
    } catch {
      // its node is down: the watch died with it
    }
  }

  /** Another node watches one of ours. */
  onWatch(env: Envelope, fromNode: string): void {
    const r = watchPayload.safeParse(env.payload);
    if (!r.success) return;
    const { watchId } = r.data;
    let told = false;
    const unwatch = this.kernel.watch(env.to, (sig) => {
      told = true;
      this.served.delete(watchId);
      try {
        this.links.send(fromNode, this.links.control(formatAddress(fromNode, 'system'), TERMINATED, { watchId, signal: sig }));
      } catch {
        // the watcher's node is gone: nobody to tell
      }
    });
    // told at once (no live actor: lookup also answers for passivated, addressable ones): nothing to keep
    if (!told) this.served.set(watchId, { node: fromNode, unwatch });
  }

  onUnwatch(env: Envelope): void {
    const r = watchPayload.safeParse(env.payload);
    if (!r.success) return;
    this.served.get(r.data.watchId)?.unwatch();
    this.served.delete(r.data.watchId);
  }

  /** One of the actors we watch elsewhere ended. */
  onTerminated(env: Envelope): void {
    const r = terminatedPayload.safeParse(env.payload);
    if (!r.success) return;
    const w = this.placed.get(r.data.watchId);
    if (!w) return;
    this.placed.delete(r.data.watchId);
    w.deliver(r.data.signal);
  }

  /** `node` went down: its actors we watch are gone (node-down), its watches of ours too. */
  nodeDown(node: string): void {
    for (const [id, w] of this.placed) {
      if (w.node !== node) continue;
      this.placed.delete(id);
      w.deliver({ type: 'signal.terminated', ref: w.target, reason: 'node-down' });
    }
    for (const [id, s] of this.served) {
      if (s.node !== node) continue;
      s.unwatch();
      this.served.delete(id);
    }
  }
}
