import { TroupeError } from '../../protocol/index.js';
import type { Cell } from './cell.js';
import type { Meta } from './meta.js';
import { KernelMessage } from './system-message.js';

/**
 * A probe a drill puts in an actor's mailbox: a kernel message (no schema, no capacity), so
 * it is answered only when the actor's turn loop reaches it behind what was queued before.
 * The behaviour never sees it.
 */
export class ProbeMessage extends KernelMessage {
  constructor(readonly done: () => void) {
    super();
  }
}

/**
 * Fault injection into the kernel, for the drills module only (reached through
 * {@link kernelFaults}, never a node option): crash an actor on its next messages, crash it on
 * one marked message every time (poison), kill it at once, probe its turn loop.
 */
export class KernelFaults {
  /** True while any fault is armed: the only check the hot path pays otherwise. */
  active = false;
  private readonly crashes = new Map<string, { left: number; error: () => Error }>();
  private readonly poisons = new Map<string, () => Error>();
  private readonly watches = new Map<string, (correlationId: string) => void>();

  constructor(private readonly cells: (path: string) => Cell | undefined) {}

  /** Crash the actor at `path` on each of its next `count` messages. Returns the disarm function. */
  armCrash(path: string, count: number, error: () => Error): () => void {
    this.crashes.set(path, { left: count, error });
    this.active = true;
    return () => {
      this.crashes.delete(path);
      this.refresh();
    };
  }

  /** Crash whichever actor handles a message carrying this correlation id, every time. */
  armPoison(correlationId: string, error: () => Error): () => void {
    this.poisons.set(correlationId, error);
    this.active = true;
    return () => {
      this.poisons.delete(correlationId);
      this.refresh();
    };
  }

  /** Tell `seen` of every message whose correlation id starts with `prefix` as a behaviour gets it. */
  watchDeliveries(prefix: string, seen: (correlationId: string) => void): () => void {
    this.watches.set(prefix, seen);
    this.active = true;
    return () => {
      this.watches.delete(prefix);
      this.refresh();
    };
  }

  private refresh(): void {
    this.active = this.crashes.size > 0 || this.poisons.size > 0 || this.watches.size > 0;
  }

  /** Called by a cell before its behaviour gets a user message; throws the injected fault. */
  beforeMessage(path: string, meta: Meta | undefined): void {
    const id = meta?.correlationId;
    if (id !== undefined) for (const [prefix, seen] of this.watches) if (id.startsWith(prefix)) seen(id);
    const c = this.crashes.get(path);
    if (c !== undefined) {
      if (--c.left <= 0) this.crashes.delete(path);
      this.refresh();
      throw c.error();
    }
    if (id !== undefined) {
      const p = this.poisons.get(id);
      if (p !== undefined) throw p();
    }
  }

  /** End the actor's incarnation now, outside any message (its supervisor decides). False when it is not running. */
  kill(path: string, error: Error): boolean {
    const cell = this.cells(path);
    if (!cell || cell.status !== 'running') return false;
    cell.failOutside(error, cell.incarnation);
    return true;
  }

  /** True when a live (running or restarting) actor is at `path`. */
  alive(path: string): boolean {
    return this.cells(path)?.alive ?? false;
  }

  /** Capacity and depth of a local actor's mailbox. */
  mailbox(path: string): { capacity: number; depth: number } | undefined {
    const cell = this.cells(path);
    return cell ? { capacity: cell.mailbox.capacity, depth: cell.mailbox.depth } : undefined;
  }

  /**
   * Resolve once the actor's turn loop reaches a probe queued now. Rejects with
   * TROUPE_ERR_ACTOR_NOT_FOUND when no actor is alive there; a probe lost in a restart just
   * never resolves (the caller bounds it with a timeout).
   */
  probe(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const cell = this.cells(path);
      if (!cell || !cell.alive) {
        reject(new TroupeError('TROUPE_ERR_ACTOR_NOT_FOUND', `no live actor at ${path}`));
        return;
      }
      const m = new ProbeMessage(resolve);
      if (cell.status === 'running') cell.admit(m, undefined);
      else cell.mailbox.stashPush(m, undefined);
    });
  }
}

const registry = new WeakMap<object, KernelFaults>();

/** Register a kernel's faults (the kernel does it at construction). */
export function registerFaults(kernel: object, faults: KernelFaults): void {
  registry.set(kernel, faults);
}

/**
 * The fault hooks of a kernel (a node), for the drills module.
 *
 * @example kernelFaults(node).armCrash('user/worker', 1, () => new Error('drill'));
 */
export function kernelFaults(kernel: object): KernelFaults {
  const f = registry.get(kernel);
  if (!f) throw new TroupeError('TROUPE_ERR_NODE_MODULE_MISSING', 'no kernel fault hooks for this host');
  return f;
}
