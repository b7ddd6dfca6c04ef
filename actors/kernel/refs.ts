import { parseAddress } from '../../protocol/index.js';
import { ActorRef } from './ref.js';

/** Parsed addresses kept (the table is emptied when full). */
const REF_CACHE_SIZE = 4_096;

/**
 * Turns what callers pass as a target (a ref, an address, a path `user/x` or `/user/x`, a
 * bare name `x` meaning `user/x`) into a ref. Refs are immutable, so targets seen again (a
 * peer's sender, an actor asked in a loop) are parsed once.
 */
export class Refs {
  private readonly cache = new Map<string, ActorRef>();
  /**
   * The last target and its ref: an envelope's `to` from a peer is a new string each time,
   * equal to the last one while a stream goes to one actor, and comparing it costs less than
   * hashing it for the table.
   */
  private lastTarget = '';
  private lastRef: ActorRef | undefined;

  constructor(private readonly node: string) {}

  toRef(target: ActorRef | string): ActorRef {
    if (target instanceof ActorRef) return target;
    if (target === this.lastTarget && this.lastRef !== undefined) return this.lastRef;
    const known = this.cache.get(target);
    if (known !== undefined) {
      this.lastTarget = target;
      this.lastRef = known;
      return known;
    }
    const a = parseAddress(target);
    let ref: ActorRef;
    if (a) {
      ref = new ActorRef(a.node, a.path);
    } else {
      // a path or a bare name is this node's, and this node's id never changes
      const p = target.replace(/^\/+/, '');
      ref = new ActorRef(this.node, /^(user|system|temp)(\/|$)/.test(p) ? p : `user/${p}`);
    }
    if (this.cache.size >= REF_CACHE_SIZE) this.cache.clear();
    this.cache.set(target, ref);
    this.lastTarget = target;
    this.lastRef = ref;
    return ref;
  }
}
