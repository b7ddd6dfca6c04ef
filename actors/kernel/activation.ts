import type { Logger } from 'pino';

/**
 * Brings passivated actors back (virtual actors, as Orleans grains and Effect Cluster
 * entities): a module that stops idle actors and keeps them addressable registers one for a
 * path prefix. A message to a path under it with no live actor asks the activator to spawn
 * the actor first, then is delivered to it like any other, in the same synchronous step, so
 * messages that arrive one after another are queued in the order they came.
 *
 * @example
 * kernel.addActivator('user/agents/', {
 *   addressable: (path) => registry.isPassivated(nameOf(path)),
 *   activate: (path) => registry.activate(nameOf(path)),
 * });
 */
export interface Activator {
  /** True when `path` is an actor this activator keeps that is not live now (a message would activate it). */
  addressable(path: string): boolean;
  /** Spawn the actor at `path` (synchronously) if it is one this activator keeps; true when it did. */
  activate(path: string): boolean;
}

/** The activators of a node, by path prefix (a handful at most: one per module that passivates). */
export class Activators {
  private readonly list: Array<{ prefix: string; activator: Activator }> = [];

  constructor(private readonly logger: Logger) {}

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Register `activator` for paths starting with `prefix`; returns an unregister function. */
  add(prefix: string, activator: Activator): () => void {
    const entry = { prefix, activator };
    this.list.push(entry);
    return () => {
      const i = this.list.indexOf(entry);
      if (i >= 0) this.list.splice(i, 1);
    };
  }

  /** True when a message to `path` would activate an actor there. */
  addressable(path: string): boolean {
    for (const { prefix, activator } of this.list) {
      if (path.startsWith(prefix) && activator.addressable(path)) return true;
    }
    return false;
  }

  /** Activate the actor at `path`; true when one was spawned. An activator that throws is logged, not fatal to the sender. */
  activate(path: string): boolean {
    for (const { prefix, activator } of this.list) {
      if (!path.startsWith(prefix)) continue;
      try {
        if (activator.activate(path)) return true;
      } catch (e) {
        this.logger.warn({ err: e, actor: path }, 'could not activate a passivated actor');
        return false;
      }
    }
    return false;
  }
}
