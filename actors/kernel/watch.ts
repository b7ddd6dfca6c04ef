import type { Terminated } from '../../protocol/index.js';
import type { RemoteRouter } from './remote.js';
import type { ActorRef } from './ref.js';

/** Something that can be watched: a local actor. */
export interface Watchable {
  readonly watchers: Set<Watcher>;
  readonly alive: boolean;
}

/** Something that watches: an actor (the notice goes through its mailbox) or a node-level callback. */
export interface Watcher {
  /** Receive a Terminated notice for one watched actor. */
  terminated(signal: Terminated): void;
  /** Local actors watched, to release when the watcher goes. */
  readonly watching: Set<Watchable>;
  /** Watches placed on actors of other nodes: target address -> watch id. */
  readonly remoteWatches: Map<string, string>;
}

/** A watcher outside the tree: `node.watch(target, callback)`. Told once. */
export class ExternalWatcher implements Watcher {
  private told = false;
  // made on first use: one watcher holds one watch, local or remote, never both
  private _watching: Set<Watchable> | undefined;
  private _remoteWatches: Map<string, string> | undefined;
  get watching(): Set<Watchable> {
    return (this._watching ??= new Set());
  }
  get remoteWatches(): Map<string, string> {
    return (this._remoteWatches ??= new Map());
  }

  constructor(private readonly onTerminated: (s: Terminated) => void) {}

  terminated(signal: Terminated): void {
    if (this.told) return;
    this.told = true;
    this._watching?.clear();
    this.onTerminated(signal);
  }
}

/** What death watch needs from the node. */
export interface WatchHost {
  readonly id: string;
  local(path: string): Watchable | undefined;
  remote(): RemoteRouter | undefined;
}

/**
 * Death watch, the one path for every watcher: an actor's `ctx.watch` and the node's
 * `watch(target, callback)` both come here, for local and remote targets alike. A dead or
 * unknown local target is reported at once (not-found), a remote one without a cluster
 * transport at once too (node-down).
 */
export class DeathWatch {
  constructor(private readonly host: WatchHost) {}

  watch(watcher: Watcher, ref: ActorRef): void {
    if (ref.node !== this.host.id) {
      if (watcher.remoteWatches.has(ref.address)) return;
      const remote = this.host.remote();
      if (remote === undefined) {
        watcher.terminated({ type: 'signal.terminated', ref: ref.address, reason: 'node-down' });
        return;
      }
      const id = remote.watch(ref.address, (sig) => {
        watcher.remoteWatches.delete(ref.address);
        watcher.terminated(sig);
      });
      watcher.remoteWatches.set(ref.address, id);
      return;
    }
    const target = this.host.local(ref.path);
    if (target === undefined || !target.alive) {
      watcher.terminated({ type: 'signal.terminated', ref: ref.address, reason: 'not-found' });
      return;
    }
    target.watchers.add(watcher);
    watcher.watching.add(target);
  }

  unwatch(watcher: Watcher, ref: ActorRef): void {
    const remoteId = watcher.remoteWatches.get(ref.address);
    if (remoteId !== undefined) {
      watcher.remoteWatches.delete(ref.address);
      this.host.remote()?.unwatch(remoteId);
    }
    if (ref.node !== this.host.id) return;
    const target = this.host.local(ref.path);
    if (target !== undefined) {
      target.watchers.delete(watcher);
      watcher.watching.delete(target);
    }
  }

  /** The watcher is gone (stopped, or its unwatch function called): drop every watch it holds. */
  release(watcher: Watcher): void {
    for (const t of watcher.watching) t.watchers.delete(watcher);
    watcher.watching.clear();
    const remote = this.host.remote();
    for (const id of watcher.remoteWatches.values()) remote?.unwatch(id);
    watcher.remoteWatches.clear();
  }
}
