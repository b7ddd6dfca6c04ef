import type { Logger } from 'pino';
import {
  Deadlines, TroupeError, newId, parseOrThrow, systemClock, type Clock, type Envelope, type Terminated,
} from '../../protocol/index.js';
import { MemoryDeadLetterStore, type DeadLetterReason, type DeadLetterStore } from '../../storage/index.js';
import { Activators, type Activator } from './activation.js';
import { AskChannel } from './asks.js';
import type { ActorSpec, AskOptions, Behaviour, Receive, TellOptions } from './behaviour.js';
import { Cell } from './cell.js';
import { DeadLetters, type DeadLetterApi } from './dead-letters.js';
import { KernelFaults, registerFaults } from './faults.js';
import { NactDispatcher, type Dispatcher } from './dispatcher.js';
import type { CellHost } from './host.js';
import { terminate } from './incarnation.js';
import { Inspector, type InspectionEvent, type InspectionListener } from './inspection.js';
import { Meta, type ReplyChannel } from './meta.js';
import { defaultLogger, kernelOptionsSchema, type KernelOptions, type KernelOptionsInput, type KernelStorage } from './options.js';
import { ActorRef } from './ref.js';
import { Refs } from './refs.js';
import { RemoteGlue, type RemoteRouter } from './remote.js';
import { Once, runPhases } from './shutdown.js';
import { resolveSpec } from './spec.js';
import { actorTree, type ActorTreeNode } from './tree.js';
import { DeathWatch, ExternalWatcher } from './watch.js';

/** Shared empty options: `spawn(b)` with no options hits the spec cache. */
const NO_OPTIONS: Omit<ActorSpec, 'behaviour'> = Object.freeze({});

/**
 * The actor kernel of one node: cells (mailbox, stash, supervision, persistence, delivery)
 * whose turns a {@link Dispatcher} schedules (nact, by default), dead letters, death watch,
 * asks, remote glue and inspection. `startNode` (the package entry) wraps it with storage,
 * transport and gateway.
 *
 * @example
 * const node = new Kernel({ id: 'n1' });
 * const echo = node.spawn((s, m, ctx) => ctx.reply(m), { name: 'echo' });
 * await node.ask(echo, 'hi'); // 'hi'
 * await node.close();
 */
export class Kernel {
  readonly id: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly options: Readonly<KernelOptions>;
  readonly inspector = new Inspector();
  readonly deadLetterStore: DeadLetterStore;
  /** Dead letters: list, inspect, and redeliver (re-send to the original address). */
  readonly deadLetters: DeadLetterApi;
  private readonly letters: DeadLetters;
  private readonly dispatcher: Dispatcher;
  private readonly cells = new Map<string, Cell>();
  private readonly refs: Refs;
  private readonly remote: RemoteGlue;
  private readonly deathWatch: DeathWatch;
  /** Local ask timeouts: one timer per 10 ms window (as remote asks and agent runs). */
  private readonly askDeadlines: Deadlines;
  private readonly systemGuardian: Cell;
  private readonly userGuardian: Cell;
  private readonly random: () => number;
  private readonly storage?: KernelStorage;
  private readonly closeOnce = new Once();
  private readonly closeHooks: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private readonly finalHooks: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private closing = false;
  // a drill's target that a message would activate (a passivated or not yet woken agent) is activated, as that message would
  private readonly faults = new KernelFaults((p) => this.cells.get(p) ?? this.activated(p));
  private readonly activators: Activators;

  constructor(input: KernelOptionsInput = {}) {
    const options = parseOrThrow(kernelOptionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid node options');
    this.options = Object.freeze(options);
    this.id = options.id;
    this.clock = input.clock ?? systemClock;
    this.askDeadlines = new Deadlines(this.clock);
    this.random = input.random ?? Math.random;
    this.logger = (input.logger ?? defaultLogger(options.logLevel)).child({ node: this.id });
    this.storage = input.storage;
    this.activators = new Activators(this.logger);
    this.deadLetterStore = input.storage?.deadLetters ?? new MemoryDeadLetterStore({ maxCount: options.deadLetterLimit });
    this.refs = new Refs(this.id);
    const toRef = (t: string): ActorRef => this.refs.toRef(t);
    this.letters = new DeadLetters(this.deadLetterStore, this.clock, this.inspector, this.logger,
      (to, payload, correlationId) => this.tell(to, payload, correlationId ? { correlationId } : undefined), toRef);
    this.deadLetters = this.letters;
    this.remote = new RemoteGlue({ clock: this.clock, toRef, local: (p) => this.cells.get(p) ?? this.activated(p), deadLetters: this.letters, logger: this.logger });
    this.deathWatch = new DeathWatch({ id: this.id, local: (p) => this.cells.get(p), remote: () => this.remote.router });
    this.dispatcher = input.dispatcher ?? new NactDispatcher(`troupe-${this.id}-${newId()}`);
    registerFaults(this, this.faults);
    const host = this.host();
    this.systemGuardian = new Cell(host, undefined, resolveSpec({ name: 'system', supervision: { maxRestarts: 10, withinMs: 10_000 } }), 'system', true);
    this.userGuardian = new Cell(host, undefined, resolveSpec({ name: 'user' }), 'user', true);
    this.systemGuardian.start();
    this.userGuardian.start();
    this.inspector.subscribe((e) => this.logEvent(e));
  }

  private logEvent(e: InspectionEvent): void {
    if (e.type === 'message.dead-lettered') this.logger.debug({ event: e }, 'dead letter');
    else if (e.type === 'mailbox.overflow') this.logger.warn({ event: e, actor: e.address }, 'mailbox overflow');
    else if (e.type === 'supervisor.escalated') this.logger.error({ event: e }, 'supervisor escalated');
  }

  private host(): CellHost {
    return {
      id: this.id,
      dispatcher: this.dispatcher,
      clock: this.clock,
      logger: this.logger,
      defaultMailboxCapacity: this.options.mailboxCapacity,
      faults: this.faults,
      random: () => this.random(),
      emit: (e) => this.inspector.emit(e),
      register: (c) => this.cells.set(c.path, c),
      unregister: (c) => {
        if (this.cells.get(c.path) === c) this.cells.delete(c.path);
      },
      deadLetter: (reason, to, message, meta, error) => this.letters.record(reason, to, message, meta, error),
      openJournal: (key, spec) => {
        if (!this.storage) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'persistent actors need a node with storage (a data dir or a memory journal)');
        return this.storage.openJournal(key, spec);
      },
      tell: (ref, message, options) => this.tell(ref, message, options),
      ask: (ref, message, options) => this.ask(ref, message, options),
      watch: (watcher, ref) => this.deathWatch.watch(watcher, this.refs.toRef(ref)),
      unwatch: (watcher, ref) => this.deathWatch.unwatch(watcher, this.refs.toRef(ref)),
      releaseWatches: (watcher) => this.deathWatch.release(watcher),
    };
  }

  // ---- spawning ---------------------------------------------------------------------------

  /**
   * Spawn an actor under /user. The spec is validated at once: a bad one throws
   * TROUPE_ERR_CONFIG_INVALID here, never later.
   *
   * @example node.spawn(counter, { name: 'counter', restart: 'transient' })
   */
  spawn<S, M, E = unknown>(b: Behaviour<S, M, E> | Receive<S, M>, options: Omit<ActorSpec<S, M, E>, 'behaviour'> = NO_OPTIONS): ActorRef<M> {
    this.assertOpen();
    return this.userGuardian.spawnChild(resolveSpec(options, b)).ref as ActorRef<M>;
  }

  /** Spawn from a full spec (a supervisor is a spec with children and no behaviour). */
  spawnSpec(spec: ActorSpec, under: 'user' | 'system' = 'user'): ActorRef {
    this.assertOpen();
    return (under === 'user' ? this.userGuardian : this.systemGuardian).spawnChild(resolveSpec(spec)).ref;
  }

  /**
   * Spawn a supervisor with child specs; the supervision options and every child spec are
   * validated here.
   *
   * @example
   * node.spawnSupervisor({ name: 'pool', supervision: { strategy: 'one-for-all', maxRestarts: 3, withinMs: 1000 },
   *   children: [{ name: 'a', behaviour: worker }, { name: 'b', behaviour: worker }] });
   */
  spawnSupervisor(spec: Omit<ActorSpec, 'behaviour'> & { name: string }): ActorRef {
    return this.spawnSpec(spec);
  }

  /** Spawn under /system (troupe's own actors). */
  spawnSystem<S, M>(b: Behaviour<S, M> | Receive<S, M>, options: Omit<ActorSpec<S, M>, 'behaviour'> = NO_OPTIONS): ActorRef<M> {
    this.assertOpen();
    return this.systemGuardian.spawnChild(resolveSpec(options, b)).ref as ActorRef<M>;
  }

  // ---- addressing -------------------------------------------------------------------------

  /** Normalize a ref, an address, a path (`user/x`, `/user/x`) or a bare name (`x` -> `user/x`). */
  toRef(target: ActorRef | string): ActorRef {
    return this.refs.toRef(target);
  }

  private localCell(target: ActorRef | string): Cell | undefined {
    const ref = this.refs.toRef(target);
    return ref.node === this.id ? this.cells.get(ref.path) : undefined;
  }

  /**
   * A ref to a live local actor, by path, address or name, or to a passivated one that a
   * message would activate (see {@link Kernel.addActivator}); undefined when none.
   */
  lookup(target: ActorRef | string): ActorRef | undefined {
    const ref = this.refs.toRef(target);
    if (ref.node !== this.id) return undefined;
    const c = this.cells.get(ref.path);
    if (c !== undefined) return c.alive ? c.ref : undefined;
    return !this.activators.empty && this.activators.addressable(ref.path) ? ref : undefined;
  }

  /**
   * Keep actors under a path prefix addressable while they are passivated: a message to such
   * a path with no live actor has `activator` spawn it first, then is delivered (tell, ask,
   * and envelopes from other nodes alike). Returns an unregister function.
   *
   * @example
   * node.addActivator('user/agents/', { addressable: (p) => known(p), activate: (p) => spawnAgain(p) });
   */
  addActivator(prefix: string, activator: Activator): () => void {
    return this.activators.add(prefix, activator);
  }

  /** The cell a passivated actor at `path` gets when a message activates it (only when no cell is there). */
  private activated(path: string): Cell | undefined {
    if (this.activators.empty || this.closing) return undefined;
    return this.activators.activate(path) ? this.cells.get(path) : undefined;
  }

  /** Attach the cluster router (transport). */
  attachRemote(router: RemoteRouter): void {
    this.remote.router = router;
  }

  // ---- messaging --------------------------------------------------------------------------

  /**
   * Fire-and-forget. Throws TROUPE_ERR_ACTOR_MAILBOX_FULL on overflow and
   * TROUPE_ERR_ACTOR_INVALID_MESSAGE for a message its schema rejects; a message to a stopped
   * or unknown actor becomes a dead letter.
   */
  tell<M>(target: ActorRef<M> | string, message: M, options?: TellOptions): void {
    const ref = target instanceof ActorRef ? target : this.refs.toRef(target);
    if (ref.node !== this.id) {
      this.remote.tell(ref, message, options);
      return;
    }
    const cell = this.cells.get(ref.path) ?? this.activated(ref.path);
    const meta = options?.sender !== undefined || options?.correlationId !== undefined
      ? new Meta(undefined, options.sender, options.correlationId)
      : undefined;
    if (cell === undefined) {
      this.letters.record('not-found', ref.address, message, meta);
      return;
    }
    cell.tell(message, meta);
  }

  /**
   * Request-reply. Rejects with TROUPE_ERR_ACTOR_ASK_TIMEOUT after `timeoutMs` (default 5 s,
   * on the node's clock), TROUPE_ERR_ACTOR_NOT_FOUND for no such actor, or the error the
   * handler replied with.
   */
  ask<R = unknown, M = unknown>(target: ActorRef<M> | string, message: M, options?: AskOptions): Promise<R> {
    const ref = this.refs.toRef(target);
    const timeoutMs = options?.timeoutMs ?? this.options.askTimeoutMs;
    if (ref.node !== this.id) return this.remote.ask(ref, message, timeoutMs, options?.correlationId) as Promise<R>;
    return new Promise<R>((resolve, reject) => {
      const channel = new AskChannel(this.askDeadlines, ref.address, timeoutMs, resolve as (v: unknown) => void, reject);
      this.askDeadlines.add(timeoutMs, channel);
      const meta = new Meta(channel, undefined, options?.correlationId);
      const cell = this.cells.get(ref.path) ?? this.activated(ref.path);
      if (cell === undefined) {
        this.letters.record('not-found', ref.address, message, meta);
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
    return this.remote.envelopeFor(ref, message, options);
  }

  /**
   * Deliver an envelope that arrived from another node to a local actor. The reply channel,
   * when given, carries the answer back.
   */
  deliverLocal(env: Envelope, replyTo?: ReplyChannel, onHandled?: () => void): void {
    this.remote.deliverLocal(env, replyTo, onHandled);
  }

  /** Record an envelope that could not be delivered (used by the cluster transport). */
  deadLetterEnvelope(env: Envelope, reason: DeadLetterReason, error?: unknown): void {
    this.letters.recordEnvelope(env, reason, error);
  }

  // ---- death watch ------------------------------------------------------------------------

  /**
   * Watch an actor from outside the tree; `onTerminated` runs once when it stops for any
   * reason (at once, with reason not-found, if it is not alive). Returns an unwatch function.
   * Actors watch with `ctx.watch`; both take the same path.
   */
  watch(target: ActorRef | string, onTerminated: (s: Terminated) => void): () => void {
    const w = new ExternalWatcher(onTerminated);
    this.deathWatch.watch(w, this.refs.toRef(target));
    return () => this.deathWatch.release(w);
  }

  /** Stop an actor for good (a deliberate stop: no restart, whatever its restart type). */
  async stop(target: ActorRef | string): Promise<void> {
    const cell = this.localCell(target);
    if (cell) terminate(cell, 'stopped', undefined, undefined);
  }

  /**
   * Delete a persistence key's events and snapshots once its pending commits settled, and
   * forget its log; for an actor removed for good. A no-op without storage.
   */
  async dropJournal(key: string): Promise<void> {
    await this.storage?.dropJournal(key);
  }

  // ---- inspection -------------------------------------------------------------------------

  /** Subscribe to inspection events; returns an unsubscribe function. */
  inspect(listener: InspectionListener): () => void {
    return this.inspector.subscribe(listener);
  }

  /** The supervision tree. */
  actors(): ActorTreeNode[] {
    return [actorTree(this.systemGuardian), actorTree(this.userGuardian)];
  }

  /** Mailbox depth of a local actor (for metrics and tests). */
  mailboxDepth(target: ActorRef | string): number {
    return this.localCell(target)?.mailbox.size ?? 0;
  }

  /** A local actor's mailbox capacity (its spec's, or the node default); undefined for no such actor. */
  mailboxCapacity(target: ActorRef | string): number | undefined {
    return this.localCell(target)?.mailbox.capacity;
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
   * /user then /system children-first, stop the dispatcher, then the final hooks (storage).
   */
  close(): Promise<void> {
    return this.closeOnce.run(async () => {
      this.closing = true;
      this.inspector.emit({ type: 'node.stopping', node: this.id });
      const t = this.options.shutdownTimeoutMs;
      await runPhases([
        ...[...this.closeHooks].reverse().map((h) => ({ name: h.name, timeoutMs: t, run: h.run })),
        { name: 'stop-user-actors', timeoutMs: t, run: () => terminate(this.userGuardian, 'stopped', undefined, undefined) },
        { name: 'stop-system-actors', timeoutMs: t, run: () => terminate(this.systemGuardian, 'stopped', undefined, undefined) },
        { name: 'stop-dispatcher', timeoutMs: t, run: () => this.dispatcher.close() },
        ...[...this.finalHooks].reverse().map((h) => ({ name: h.name, timeoutMs: t, run: h.run })),
      ], (phase, e) => this.logger.warn({ err: e, phase }, 'shutdown phase failed'));
    });
  }
}
