import { formatAddress } from '../../protocol/index.js';

/**
 * A typed reference to an actor, local or on another node. The address
 * (`troupe://<node>/<path>`) is stable across restarts of the actor.
 *
 * @example
 * const ref = node.spawn(counter, { name: 'counter' });
 * ref.address // 'troupe://n1/user/counter'
 */
export class ActorRef<M = unknown> {
  readonly address: string;
  /** Phantom field carrying the message type. */
  declare readonly __message?: M;

  constructor(readonly node: string, readonly path: string) {
    this.address = formatAddress(node, path);
  }

  toString(): string {
    return this.address;
  }

  toJSON(): string {
    return this.address;
  }
}
