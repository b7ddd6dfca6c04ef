import { parseAddress } from '../protocol/index.js';
import type { MemberView } from '../transport/index.js';

/** What the {@link Locations} cache needs from the cluster. */
export interface LocationsHost {
  /** The other members, as the transport sees them now. */
  members(): MemberView[];
  /** Ask `node` whether it has a live actor at `path`; its address, or undefined (no, or no answer in time). */
  lookup(node: string, path: string): Promise<unknown>;
  /** Watch a remote actor; `deliver` fires once when it stops or its node goes down. Returns the watch id. */
  watch(address: string, deliver: () => void): string;
  unwatch(watchId: string): void;
}

interface Entry {
  readonly path: string;
  readonly address: string;
  readonly node: string;
  /** The incarnation of `node` that answered: a restarted node is asked again. */
  readonly incarnation: string;
  watchId: string | undefined;
}

/**
 * Where actors of other nodes live, by path: a lookup asks every up member at once and
 * answers on the first yes (a slow or silent member costs nothing then), and the answer is
 * cached until the actor stops (a death watch placed on it, or a not-found from its node)
 * or its node goes down or restarts. Bounded: past `max` entries the oldest is dropped.
 *
 * @example
 * const address = await locations.locate('user/agents/helper/agent'); // 'troupe://b/user/agents/helper/agent'
 */
export class Locations {
  readonly #h: LocationsHost;
  readonly #max: number;
  readonly #byPath = new Map<string, Entry>();
  readonly #byAddress = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string | undefined>>();
  #lookups = 0;

  constructor(host: LocationsHost, max: number) {
    this.#h = host;
    this.#max = max;
  }

  /** Cached locations. */
  get size(): number {
    return this.#byPath.size;
  }

  /** Lookup requests sent to members so far. */
  get lookups(): number {
    return this.#lookups;
  }

  /** The address of a live actor at `path` on another node, or undefined when no member has one. */
  locate(path: string): Promise<string | undefined> {
    const hit = this.#byPath.get(path);
    if (hit !== undefined) {
      const m = this.#h.members().find((x) => x.node === hit.node);
      if (m !== undefined && m.status !== 'down' && m.incarnation === hit.incarnation) return Promise.resolve(hit.address);
      this.#drop(hit);
    }
    let p = this.#inflight.get(path);
    if (p === undefined) {
      p = this.#lookup(path).finally(() => this.#inflight.delete(path));
      this.#inflight.set(path, p);
    }
    return p;
  }

  /** A node went down or restarted: nothing it answered holds any more. */
  forgetNode(node: string): void {
    for (const e of [...this.#byPath.values()]) if (e.node === node) this.#drop(e);
  }

  /** The actor at `address` is gone (its node said not found, or it stopped). */
  forgetAddress(address: string): void {
    const e = this.#byAddress.get(address);
    if (e !== undefined) this.#drop(e);
  }

  clear(): void {
    for (const e of [...this.#byPath.values()]) this.#drop(e);
  }

  #lookup(path: string): Promise<string | undefined> {
    const others = this.#h.members().filter((m) => m.status === 'up');
    if (others.length === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let left = others.length;
      let done = false;
      const no = () => {
        if (!done && --left === 0) {
          done = true;
          resolve(undefined);
        }
      };
      for (const m of others) {
        this.#lookups++;
        this.#h.lookup(m.node, path).then((answer) => {
          // A node answers only for its own actors: a claim about another node's is ignored.
          if (done || typeof answer !== 'string' || parseAddress(answer)?.node !== m.node) return no();
          done = true;
          this.#remember(path, answer, m);
          resolve(answer);
        }, no);
      }
    });
  }

  #remember(path: string, address: string, m: MemberView): void {
    const old = this.#byPath.get(path);
    if (old !== undefined) this.#drop(old);
    if (this.#max === 0) return;
    if (this.#byPath.size >= this.#max) this.#drop(this.#byPath.values().next().value!);
    const e: Entry = { path, address, node: m.node, incarnation: m.incarnation, watchId: undefined };
    this.#byPath.set(path, e);
    this.#byAddress.set(address, e);
    // The watch fires at once (node-down) when it cannot even be sent: then e is gone already.
    const watchId = this.#h.watch(address, () => {
      e.watchId = undefined;
      this.#drop(e);
    });
    if (this.#byPath.get(path) === e) e.watchId = watchId;
  }

  #drop(e: Entry): void {
    if (this.#byPath.get(e.path) === e) this.#byPath.delete(e.path);
    if (this.#byAddress.get(e.address) === e) this.#byAddress.delete(e.address);
    if (e.watchId !== undefined) {
      this.#h.unwatch(e.watchId);
      e.watchId = undefined;
    }
  }
}
