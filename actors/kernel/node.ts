import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import {
  Deadlines, TroupeError, newId, parseAddress, parseOrThrow, serializeError, systemClock, type Clock, type Envelope, type Terminated, type Timed,
} from '../../protocol/index.js';
import type { ActorSpec, AskOptions, Behaviour, Receive, TellOptions } from './behaviour.js';
import { Cell, type ActorJournal, type CellHost, type ContextServices, type Watcher } from './cell.js';
import { MemoryDeadLetterStore } from '../../storage/index.js';
import type { DeadLetterQuery, DeadLetterReason, DeadLetterRecord, DeadLetterStore } from '../../storage/index.js';
import { Inspector, type InspectionEvent, type InspectionListener } from './inspection.js';
import { Once, runPhases } from './lifecycle.js';
import { Meta, type ReplyChannel } from './meta.js';
import { startSystem, stopSystem, type NactRef } from './nact-bridge.js';
import { ActorRef } from './ref.js';

const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Parsed addresses kept by {@link Kernel.toRef} (the table is emptied when full). */
const REF_CACHE_SIZE = 4_096;

/** The logger a node makes when given none: pino JSON on stdout, level from TROUPE_LOG_LEVEL. */
export function defaultLogger(level?: string): Logger {
  return pino({ level: level ?? process.env.TROUPE_LOG_LEVEL ?? 'info' });
}

export function defaultNodeId(): string {
  const h = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return h.length > 0 ? h : 'troupe';
}

/** Node options: one schema, validated once, defaults documented in the README. */
export const kernelOptionsSchema = z.object({
  id: z.string().regex(NODE_ID_RE, 'node id: 1-64 of [A-Za-z0-9._-]').default(defaultNodeId),
  mailboxCapacity: z.number().int().positive().max(10_000_000).default(10_000),
  askTimeoutMs: z.number().int().positive().max(3_600_000).default(5_000),
  shutdownTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
  deadLetterLimit: z.number().int().positive().max(10_000_000).default(10_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

export type KernelOptionsInput = z.input<typeof kernelOptionsSchema> & {
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
  /** Persistence and dead-letter backends (storage/); in-memory dead letters without. */
  storage?: KernelStorage;
};

/** What the kernel needs from storage/, kept narrow. */
export interface KernelStorage {
  openJournal(key: string, spec: { snapshotEvery?: number; keepSnapshots?: number }): ActorJournal;
  /** Settle, delete and forget a key's journal (its actor is gone for good). */
  dropJournal(key: string): Promise<void>;
  deadLetters: DeadLetterStore;
}

/** How the kernel reaches actors on other nodes (transport/ implements it via the node). */
export interface RemoteRouter {
  /** Send `env` to `node` (the node its `to` names). */
  tell(env: Envelope, node: string): void;
  /** Ask a remote actor on `node`; the router tracks the reply (and owns `env`: it sets the reply address on it). */
  ask(env: Envelope, timeoutMs: number, node: string): Promise<unknown>;
  /** Watch an actor on another node; returns the watch id to unwatch with. */
  watch(target: string, deliver: (s: Terminated) => void): string;
  unwatch(watchId: string): void;
}

/** One node of the supervision tree as `actors()` reports it. */
export interface ActorTreeNode {
  path: string;
  address: string;
  status: string;
  incarnation: number;
  mailbox: number;
  restart: string;
  strategy?: string;
  children: ActorTreeNode[];
}

/**
 * The reply side of a local ask, and its own deadline entry: one object per ask, no
 * closures, no timer of its own; settles once.
 */
class AskChannel implements ReplyChannel, Timed {
  deadlineWindow?: unknown;
  deadlineSlot?: number;
  private done = false;
  constructor(
    private readonly deadlines: Deadlines,
    private readonly address: string,
    private readonly timeoutMs: number,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (e: unknown) => void,
  ) {}
  reply(v: unknown): void {
    if (this.done) return;
    this.done = true;
    this.deadlines.cancel(this);
    this.resolve(v);
  }
  error(e: unknown): void {
    if (this.done) return;
    this.done = true;
    this.deadlines.cancel(this);
    this.reject(e);
  }
  onDeadline(): void {
    if (this.done) return;
    this.done = true;
    this.reject(new TroupeError('TROUPE_ERR_ACTOR_ASK_TIMEOUT', `ask to ${this.address} timed out after ${this.timeoutMs}ms`, { details: { timeoutMs: this.timeoutMs } }));
  }
}

function messageType(m: unknown): string {
  const t = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  // An envelope's type is 1-256 characters: a message whose own `type` does not fit is just an
  // object. `troupe.*` is kept for the cluster's control envelopes (replies, watches), which
  // a user message must never pass for.
  return typeof t === 'string' && t.length >= 1 && t.length <= 256 && !t.startsWith('troupe.') ? t : typeof m;
}

/**
 * The actor kernel of one node: nact underneath, troupe's cells, supervision, dead letters,
 * inspection. `startNode` (the package entry) wraps it with storage, transport and gateway.
 *
 * @example
 * const node = await startKernel({ id: 'n1' });
 * const echo = node.spawn((s, m, ctx) => ctx.reply(m), { name: 'echo' });
 * await node.ask(echo, 'hi'); // 'hi'
 * await node.close();
 */
export class Kernel {
  readonly id: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly options: Readonly<z.output<typeof kernelOptionsSchema>>;
  readonly inspector = new Inspector();
  readonly deadLetterStore: DeadLetterStore;
  private readonly system: NactRef;
  private readonly cells = new Map<string, Cell>();
  private readonly refs = new Map<string, ActorRef>();
  /** Local ask timeouts: one timer per 10 ms window (as remote asks and agent runs). */
  private readonly askDeadlines: Deadlines;
  private readonly systemGuardian: Cell;
  private readonly userGuardian: Cell;
  private readonly random: () => number;
  private readonly storage?: KernelStorage;
  private remote?: RemoteRouter;
  private readonly closeOnce = new Once();
  private readonly closeHooks: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private readonly finalHooks: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private closing = false;

  constructor(input: KernelOptionsInput = {}) {
    const options = parseOrThrow(kernelOptionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid node options');
    this.options = Object.freeze(options);
    this.id = options.id;
    this.clock = input.clock ?? systemClock;
    this.askDeadlines = new Deadlines(this.clock);
    this.random = input.random ?? Math.random;
    this.logger = (input.logger ?? defaultLogger(options.logLevel)).child({ node: this.id });
    this.storage = input.storage;
    this.deadLetterStore = input.storage?.deadLetters ?? new MemoryDeadLetterStore({ maxCount: options.deadLetterLimit });
    this.system = startSystem(`troupe-${this.id}-${newId()}`);
    const host = this.host();
    this.systemGuardian = new Cell(host, undefined, { name: 'system', supervision: { maxRestarts: 10, withinMs: 10_000 } }, 'system', true);
    this.userGuardian = new Cell(host, undefined, { name: 'user' }, 'user', true);
    this.systemGuardian.start();
    this.userGuardian.start();
    this.inspector.subscribe((e) => this.logEvent(e));
  }

  private logEvent(e: InspectionEvent): void {
    switch (e.type) {
      case 'message.dead-lettered':
        this.logger.debug({ event: e }, 'dead letter');
        break;
      case 'mailbox.overflow':
        this.logger.warn({ event: e, actor: e.address }, 'mailbox overflow');
        break;
      case 'supervisor.escalated':
        this.logger.error({ event: e }, 'supervisor escalated');
        break;
      default:
        break;
    }
  }

  private host(): CellHost {
    const kernel = this;
    const services: ContextServices = {
      tell: (ref, message, options) => kernel.tell(ref, message, options),
      ask: (ref, message, options) => kernel.ask(ref, message, options),
      watch: (watcher, ref) => kernel.watchFrom(watcher, ref),
      unwatch: (watcher, ref) => {
        const address = kernel.toRef(ref).address;
        const remoteId = watcher.remoteWatches.get(address);
        if (remoteId !== undefined) {
          watcher.remoteWatches.delete(address);
          kernel.remote?.unwatch(remoteId);
        }
        const target = kernel.localCell(ref);
        if (target) {
          target.watchers.delete(watcher);
          watcher.watching.delete(target);
        }
      },
    };
    return {
      id: this.id,
      system: this.system,
      clock: this.clock,
      logger: this.logger,
      defaultMailboxCapacity: this.options.mailboxCapacity,
      random: () => this.random(),
      emit: (e) => this.inspector.emit(e),
      register: (c) => this.cells.set(c.path, c),
      unregister: (c) => {
        if (this.cells.get(c.path) === c) this.cells.delete(c.path);
      },
      deadLetter: (reason, to, message, meta, error) => this.recordDeadLetter(reason, to, message, meta, error),
      openJournal: (key, spec) => {
        if (!this.storage) {
          throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'persistent actors need a node with a data dir (storage)');
        }
        return this.storage.openJournal(key, spec);
      },
      context: services,
    };
  }

  // ---- spawning ---------------------------------------------------------------------------

  /**
   * Spawn an actor under /user.
   *
   * @example node.spawn(counter, { name: 'counter', restart: 'transient' })
   */
  spawn<S, M, E = unknown>(b: Behaviour<S, M, E> | Receive<S, M>, options: Omit<ActorSpec<S, M, E>, 'behaviour'> = {}): ActorRef<M> {
    return this.spawnSpec({ ...options, behaviour: b }) as ActorRef<M>;
  }

  /** Spawn from a full spec (a supervisor is a spec with children and no behaviour). */
  spawnSpec(spec: ActorSpec, under: 'user' | 'system' = 'user'): ActorRef {
    this.assertOpen();
    return (under === 'user' ? this.userGuardian : this.systemGuardian).spawnChild(spec).ref;
  }

  /**
   * Spawn a supervisor with child specs.
   *
   * @example
   * node.spawnSupervisor({ name: 'pool', supervision: { strategy: 'one-for-all', maxRestarts: 3, withinMs: 1000 },
   *   children: [{ name: 'a', behaviour: worker }, { name: 'b', behaviour: worker }] });
   */
  spawnSupervisor(spec: Omit<ActorSpec, 'behaviour'> & { name: string }): ActorRef {
    return this.spawnSpec(spec);
  }

  /** Spawn under /system (troupe's own actors). */
  spawnSystem<S, M>(b: Behaviour<S, M> | Receive<S, M>, options: Omit<ActorSpec<S, M>, 'behaviour'> = {}): ActorRef<M> {
    return this.spawnSpec({ ...options, behaviour: b }, 'system') as ActorRef<M>;
  }

  // ---- addressing -------------------------------------------------------------------------

  /** Normalize a ref, an address, a path (`user/x`, `/user/x`) or a bare name (`x` -> `user/x`). */
  toRef(target: ActorRef | string): ActorRef {
    if (target instanceof ActorRef) return target;
    // refs are immutable: addresses seen again (a peer's sender, an actor asked in a loop) are parsed once
    const known = this.refs.get(target);
    if (known !== undefined) return known;
    const a = parseAddress(target);
    if (a) {
      if (this.refs.size >= REF_CACHE_SIZE) this.refs.clear();
      const ref = new ActorRef(a.node, a.path);
      this.refs.set(target, ref);
      return ref;
    }
    // a path or a bare name is this node's, and this node's id never changes: cached too
    const p = target.replace(/^\/+/, '');
    const ref = new ActorRef(this.id, /^(user|system|temp)(\/|$)/.test(p) ? p : `user/${p}`);
    if (this.refs.size >= REF_CACHE_SIZE) this.refs.clear();
    this.refs.set(target, ref);
    return ref;
  }

  private localCell(target: ActorRef | string): Cell | undefined {
    const ref = this.toRef(target);
    return ref.node === this.id ? this.cells.get(ref.path) : undefined;
  }

  /** A ref to a live local actor, by path, address or name; undefined when none. */
  lookup(target: ActorRef | string): ActorRef | undefined {
    const c = this.localCell(target);
    return c?.alive ? c.ref : undefined;
  }

  /** Attach the cluster router (transport). */
  attachRemote(router: RemoteRouter): void {
    this.remote = router;
  }

  // ---- messaging --------------------------------------------------------------------------

  /**
   * Fire-and-forget. Throws TROUPE_ERR_ACTOR_MAILBOX_FULL on overflow and
   * TROUPE_ERR_ACTOR_INVALID_MESSAGE for a message its schema rejects; a message to a stopped
   * or unknown actor becomes a dead letter.
   */
  tell<M>(target: ActorRef<M> | string, message: M, options?: TellOptions): void {
    const ref = this.toRef(target);
    if (ref.node !== this.id) {
      this.tellRemote(ref, message, options);
      return;
    }
    const cell = this.cells.get(ref.path);
    const meta = options?.sender !== undefined || options?.correlationId !== undefined
      ? new Meta(undefined, options.sender, options.correlationId)
      : undefined;
    if (cell === undefined) {
      this.recordDeadLetter('not-found', ref.address, message, meta);
      return;
    }
    cell.tell(message, meta, options?.trusted);
  }

  /**
   * Request-reply. Rejects with TROUPE_ERR_ACTOR_ASK_TIMEOUT after `timeoutMs` (default 5 s),
   * TROUPE_ERR_ACTOR_NOT_FOUND for no such actor, or the error the handler replied with.
   */
  ask<R = unknown, M = unknown>(target: ActorRef<M> | string, message: M, options?: AskOptions): Promise<R> {
    const ref = this.toRef(target);
    const timeoutMs = options?.timeoutMs ?? this.options.askTimeoutMs;
    if (ref.node !== this.id) return this.askRemote(ref, message, timeoutMs, options?.correlationId) as Promise<R>;
    return new Promise<R>((resolve, reject) => {
      const channel = new AskChannel(this.askDeadlines, ref.address, timeoutMs, resolve as (v: unknown) => void, reject);
      this.askDeadlines.add(timeoutMs, channel);
      const meta = new Meta(channel, undefined, options?.correlationId);
      const cell = this.cells.get(ref.path);
      if (cell === undefined) {
        this.recordDeadLetter('not-found', ref.address, message, meta);
        channel.error(new TroupeError('TROUPE_ERR_ACTOR_NOT_FOUND', `no actor at ${ref.address}`));
        return;
      }
      try {
        cell.tell(message, meta);
      } catch (e) {
        channel.error(e);
      }
    });
  }

  /** A new envelope for `message` to `ref` (for sends that leave this node). */
  envelopeFor(ref: ActorRef, message: unknown, options?: { sender?: ActorRef; correlationId?: string }): Envelope {
    // one literal, optional fields assigned after: every envelope has a fast, shared shape
    // whole milliseconds, whatever the clock gives: an envelope's createdAt is an integer
    const env: Envelope = { id: newId(), to: ref.address, type: messageType(message), createdAt: Math.floor(this.clock.now()), payload: message };
    if (options?.sender) env.from = options.sender.address;
    if (options?.correlationId) env.correlationId = options.correlationId;
    return env;
  }

  private tellRemote(ref: ActorRef, message: unknown, options?: TellOptions): void {
    const env = this.envelopeFor(ref, message, options);
    if (!this.remote) {
      this.recordDeadLetter('node-down', ref.address, message, undefined);
      throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `no cluster transport to reach ${ref.node}`);
    }
    this.remote.tell(env, ref.node);
  }

  private askRemote(ref: ActorRef, message: unknown, timeoutMs: number, correlationId?: string): Promise<unknown> {
    if (!this.remote) {
      return Promise.reject(new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `no cluster transport to reach ${ref.node}`));
    }
    const env = this.envelopeFor(ref, message);
    if (correlationId) env.correlationId = correlationId;
    return this.remote.ask(env, timeoutMs, ref.node);
  }

  /**
   * Deliver an envelope that arrived from another node to a local actor. The reply channel,
   * when given, carries the answer back.
   */
  deliverLocal(env: Envelope, replyTo?: ReplyChannel, onHandled?: () => void): void {
    const ref = this.toRef(env.to);
    const cell = this.cells.get(ref.path);
    const sender = env.from ? this.toRef(env.from) : undefined;
    const meta = new Meta(replyTo, sender, env.correlationId, onHandled, env.durable ? env.id : undefined);
    if (cell === undefined) {
      this.recordDeadLetter('not-found', env.to, env.payload, meta);
      replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_NOT_FOUND', `no actor at ${env.to}`));
      onHandled?.();
      return;
    }
    try {
      cell.tell(env.payload, meta);
    } catch (e) {
      // refused (full mailbox, invalid message): dead-lettered by the cell, so a durable one is
      // done too; otherwise the inbox would hand it back at every start
      onHandled?.();
      replyTo?.error(e);
      if (!replyTo) this.logger.warn({ err: e, to: env.to }, 'remote tell rejected');
    }
  }

  // ---- death watch ------------------------------------------------------------------------

  private watchFrom(watcher: Cell, target: ActorRef | string): void {
    const ref = this.toRef(target);
    if (ref.node !== this.id) {
      if (!this.remote || watcher.remoteWatches.has(ref.address)) {
        if (!this.remote) watcher.signal({ type: 'signal.terminated', ref: ref.address, reason: 'node-down' });
        return;
      }
      const id = this.remote.watch(ref.address, (sig) => {
        watcher.remoteWatches.delete(ref.address);
        watcher.signal(sig);
      });
      watcher.remoteWatches.set(ref.address, id);
      return;
    }
    const cell = this.cells.get(ref.path);
    if (!cell || !cell.alive) {
      watcher.signal({ type: 'signal.terminated', ref: ref.address, reason: 'not-found' });
      return;
    }
    cell.watchers.add(watcher);
    watcher.watching.add(cell);
  }

  /**
   * Watch an actor from outside the tree; `onTerminated` runs once when it stops for any
   * reason (at once, with reason not-found, if it is not alive). Returns an unwatch function.
   */
  watch(target: ActorRef | string, onTerminated: (s: Terminated) => void): () => void {
    const ref = this.toRef(target);
    const w: Watcher = { kind: 'external', id: newId(), deliver: onTerminated };
    if (ref.node !== this.id) {
      if (!this.remote) {
        onTerminated({ type: 'signal.terminated', ref: ref.address, reason: 'node-down' });
        return () => undefined;
      }
      const remote = this.remote;
      const id = remote.watch(ref.address, onTerminated);
      return () => remote.unwatch(id);
    }
    const cell = this.cells.get(ref.path);
    if (!cell || !cell.alive) {
      onTerminated({ type: 'signal.terminated', ref: ref.address, reason: 'not-found' });
      return () => undefined;
    }
    cell.watchers.add(w);
    return () => { cell.watchers.delete(w); };
  }

  /** Stop an actor for good (a deliberate stop: no restart, whatever its restart type). */
  async stop(target: ActorRef | string): Promise<void> {
    const cell = this.localCell(target);
    if (!cell) return;
    cell.terminate('stopped', undefined, undefined);
  }

  /**
   * Delete a persistence key's events and snapshots once its pending commits settled, and
   * forget its log; for an actor removed for good. A no-op without a data dir.
   */
  async dropJournal(key: string): Promise<void> {
    await this.storage?.dropJournal(key);
  }

  // ---- dead letters -----------------------------------------------------------------------

  /** Record an envelope that could not be delivered (used by the cluster transport). */
  deadLetterEnvelope(env: Envelope, reason: DeadLetterReason, error?: unknown): void {
    const sender = env.from ? this.toRef(env.from) : undefined;
    this.recordDeadLetter(reason, env.to, env.payload, new Meta(undefined, sender, env.correlationId, undefined, env.id), error);
  }

  private recordDeadLetter(reason: DeadLetterReason, to: string, message: unknown, meta: Meta | undefined, error?: unknown): void {
    const id = newId();
    const record: DeadLetterRecord = {
      id,
      at: this.clock.now(),
      reason,
      envelope: {
        id: meta?.id ?? newId(),
        to,
        type: messageType(message),
        createdAt: Math.floor(this.clock.now()),
        payload: message,
        // clipped to what an envelope holds: the record of a refused message must still be storable
        ...(meta?.correlationId ? { correlationId: meta.correlationId.slice(0, 256) } : {}),
        ...(meta?.sender ? { from: meta.sender.address } : {}),
      },
      ...(error === undefined ? {} : { error: serializeError(error) }),
      ...(meta && meta.attempts > 0 ? { attempts: meta.attempts } : {}),
    };
    this.inspector.emit({ type: 'message.dead-lettered', id, reason, to, messageType: record.envelope.type });
    try {
      const r = this.deadLetterStore.add(record);
      if (r instanceof Promise) r.catch((e: unknown) => this.logger.warn({ err: e }, 'dead letter not stored'));
    } catch (e) {
      this.logger.warn({ err: e, to }, 'dead letter not stored');
    }
  }

  /** Dead letters: list, inspect, and redeliver (re-send to the original address). */
  get deadLetters(): {
    list: (opts?: DeadLetterQuery) => DeadLetterRecord[];
    get: (id: string) => DeadLetterRecord | undefined;
    count: () => number;
    redeliver: (id: string) => Promise<void>;
  } {
    return {
      list: (opts) => this.deadLetterStore.list(opts),
      get: (id) => this.deadLetterStore.get(id),
      count: () => this.deadLetterStore.count(),
      redeliver: async (id) => {
        const r = this.deadLetterStore.get(id);
        if (!r) throw new TroupeError('TROUPE_ERR_DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
        await this.deadLetterStore.remove(id);
        this.tell(r.envelope.to, r.envelope.payload, r.envelope.correlationId ? { correlationId: r.envelope.correlationId } : undefined);
      },
    };
  }

  // ---- inspection -------------------------------------------------------------------------

  /** Subscribe to inspection events; returns an unsubscribe function. */
  inspect(listener: InspectionListener): () => void {
    return this.inspector.subscribe(listener);
  }

  /** The supervision tree. */
  actors(): ActorTreeNode[] {
    const walk = (c: Cell): ActorTreeNode => ({
      path: c.path,
      address: c.ref.address,
      status: c.status,
      incarnation: c.incarnation,
      mailbox: c.mailboxDepth,
      restart: c.spec.restart ?? 'permanent',
      ...(c.children.size > 0 || c.spec.supervision ? { strategy: c.spec.supervision?.strategy ?? 'one-for-one' } : {}),
      children: [...c.children.values()].map(walk),
    });
    return [walk(this.systemGuardian), walk(this.userGuardian)];
  }

  /** Mailbox depth of a local actor (for metrics and tests). */
  mailboxDepth(target: ActorRef | string): number {
    return this.localCell(target)?.mailboxDepth ?? 0;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  get isClosing(): boolean {
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new TroupeError('TROUPE_ERR_NODE_CLOSED', `node ${this.id} is closing`);
  }

  /** Register a close hook; hooks run in reverse registration order before the actors stop. */
  onClose(name: string, run: () => Promise<void> | void): void {
    this.closeHooks.push({ name, run });
  }

  /** Register a hook that runs after every actor stopped (e.g. flushing and closing storage). */
  onClosed(name: string, run: () => Promise<void> | void): void {
    this.finalHooks.push({ name, run });
  }

  /**
   * Graceful, phased, idempotent close: close hooks (newest first: gateway, transport), stop
   * /user then /system children-first, stop nact, then the final hooks (storage).
   */
  close(): Promise<void> {
    return this.closeOnce.run(async () => {
      this.closing = true;
      this.inspector.emit({ type: 'node.stopping', node: this.id });
      const t = this.options.shutdownTimeoutMs;
      await runPhases([
        ...[...this.closeHooks].reverse().map((h) => ({ name: h.name, timeoutMs: t, run: h.run })),
        { name: 'stop-user-actors', timeoutMs: t, run: () => this.userGuardian.terminate('stopped', undefined, undefined) },
        { name: 'stop-system-actors', timeoutMs: t, run: () => this.systemGuardian.terminate('stopped', undefined, undefined) },
        { name: 'stop-nact', timeoutMs: t, run: () => stopSystem(this.system) },
        ...[...this.finalHooks].reverse().map((h) => ({ name: h.name, timeoutMs: t, run: h.run })),
      ], (phase, e) => this.logger.warn({ err: e, phase }, 'shutdown phase failed'));
    });
  }
}
