import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { TroupeError, describeIssues, serializeError, type Signal, type Terminated } from '../../protocol/index.js';
import type { ExitKind } from '../../supervisors/index.js';
import type { Behaviour } from './behaviour.js';
import { MessageContext } from './context.js';
import type { Dispatcher, TurnSlot } from './dispatcher.js';
import type { CellHost } from './host.js';
import { startIncarnation } from './incarnation.js';
import { ProbeMessage } from './faults.js';
import { Mailbox } from './mailbox.js';
import { Meta } from './meta.js';
import type { CellPersistence } from './persistence.js';
import { ActorRef } from './ref.js';
import type { ResolvedSpec } from './spec.js';
import { Supervision } from './supervision.js';
import { KernelMessage, SignalMessage, type TimerMessage } from './system-message.js';
import { ActorTimers } from './timers.js';
import type { Watchable, Watcher } from './watch.js';

export type CellStatus = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** The timers a stale context (of an ended incarnation) gets: closed, so every call is a no-op. */
const STALE_TIMERS = new ActorTimers({ checkMessage: (m) => m, enqueueTimer: () => undefined }, { now: () => 0, setTimeout: () => undefined, clearTimeout: () => undefined });
STALE_TIMERS.close();

/**
 * One actor's identity across incarnations: address, state, bounded mailbox (with the stash
 * kept while it restarts), children in start order, watchers, and, as a supervisor, its
 * {@link Supervision}. nact schedules turns (through the {@link Dispatcher}); troupe's cells
 * own the mailbox, the stash, supervision, persistence and delivery. This file is the hot
 * path: intake and the turn loop. Starting,
 * suspending and stopping incarnations live in incarnation.ts; fields those functions share
 * are internal to the kernel (cells are never exported).
 */
export class Cell implements Watcher, Watchable {
  readonly ref: ActorRef;
  readonly name: string;
  readonly path: string;
  readonly behaviour: Behaviour<any, any, any>;
  readonly mailbox: Mailbox;
  // Made on first use: most actors never get a child, a watcher or a watch of their own.
  private _children: Map<string, Cell> | undefined;
  private _watchers: Set<Watcher> | undefined;
  private _watching: Set<Watchable> | undefined;
  private _remoteWatches: Map<string, string> | undefined;
  get children(): Map<string, Cell> {
    return (this._children ??= new Map());
  }
  get watchers(): Set<Watcher> {
    return (this._watchers ??= new Set());
  }
  get watching(): Set<Watchable> {
    return (this._watching ??= new Set());
  }
  get remoteWatches(): Map<string, string> {
    return (this._remoteWatches ??= new Map());
  }
  /** True when it has a child (without making the map). */
  get hasChildren(): boolean {
    return this._children !== undefined && this._children.size > 0;
  }
  status: CellStatus = 'starting';
  state: any;
  incarnation = 0;
  /** The current incarnation's slot in the dispatcher, attached on its first turn (an actor never told holds none). */
  slot: TurnSlot | undefined;
  /** A turn is scheduled (or running): new messages join it. */
  scheduled = false;
  stopRequested = false;
  restartTimer: unknown;
  persistence: CellPersistence | undefined;
  /** This cell as a parent: made on the first child exit of each incarnation (a fresh restart budget, as in OTP). */
  supervision: Supervision | undefined;
  timers: ActorTimers | undefined;
  /** The message being handled (one at a time per actor): a crash from outside the handler still accounts for it. */
  handling = false;
  currentMessage: unknown = undefined;
  currentMeta: Meta | undefined = undefined;
  private lastFailed: unknown = undefined;
  private _log?: Logger;
  private childSeq = 0;
  private readonly dispatcher: Dispatcher;
  private readonly schema: ZodType | undefined;
  private readonly throughput: number;

  constructor(
    readonly host: CellHost,
    readonly parent: Cell | undefined,
    readonly spec: ResolvedSpec,
    name: string,
    /** Guardians (/user, /system) give each child its own restart budget and never fail. */
    readonly guardian = false,
  ) {
    this.name = name;
    this.path = parent ? `${parent.path}/${name}` : name;
    this.ref = new ActorRef(host.id, this.path);
    this.behaviour = spec.behaviour;
    this.schema = spec.behaviour.messages;
    this.mailbox = new Mailbox(spec.mailboxCapacity ?? host.defaultMailboxCapacity);
    this.throughput = spec.throughput;
    this.dispatcher = host.dispatcher;
  }

  get log(): Logger {
    return (this._log ??= this.host.logger.child({ actor: this.path }));
  }

  get alive(): boolean {
    return this.status !== 'stopped' && this.status !== 'stopping';
  }

  /** Start the first incarnation. */
  start(): void {
    this.host.register(this);
    startIncarnation(this);
    this.host.emit({ type: 'actor.spawned', address: this.ref.address, incarnation: this.incarnation });
  }

  /** Spawn a child of this cell from a validated spec. */
  spawnChild(spec: ResolvedSpec): Cell {
    // generated names start with '$', which no given name can: they never collide
    const name = spec.name ?? `$${(this.childSeq++).toString(36)}`;
    if (this.children.has(name)) throw new TroupeError('TROUPE_ERR_ACTOR_NAME_TAKEN', `${this.path}/${name} already exists`);
    const child = new Cell(this.host, this, spec, name);
    this.children.set(name, child);
    try {
      child.start();
    } catch (e) {
      this.children.delete(name);
      this.host.unregister(child);
      throw e;
    }
    return child;
  }

  /** This cell as a supervisor of its children. */
  supervisor(): Supervision {
    return (this.supervision ??= new Supervision(this));
  }

  /** The timers of incarnation `inc`; a closed set for a stale one. */
  timersOf(inc: number): ActorTimers {
    if (inc !== this.incarnation || !this.alive) return STALE_TIMERS;
    return (this.timers ??= new ActorTimers(this, this.host.clock));
  }

  // ---- message intake -------------------------------------------------------------------

  /** Enqueue a message. Throws on overflow or an invalid message; dead-letters when stopped. */
  tell(message: unknown, meta: Meta | undefined): void {
    if (this.schema !== undefined) message = this.checkMessage(message, meta);
    const status = this.status;
    if (status === 'running') {
      const mailbox = this.mailbox;
      if (mailbox.depth >= mailbox.capacity) this.overflow(message, meta);
      mailbox.push(message, meta, true);
      if (!this.scheduled) {
        this.scheduled = true;
        this.dispatcher.schedule(this.slot ?? this.attachSlot());
      }
    } else if (status === 'restarting' || status === 'starting') {
      if (this.mailbox.stashFull) this.overflow(message, meta);
      this.mailbox.stashPush(message, meta);
    } else {
      this.host.deadLetter('stopped', this.ref.address, message, meta);
      meta?.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_NOT_FOUND', `${this.ref.address} is stopped`));
    }
  }

  /** The actor's schema, when it declares one: a failure is a dead letter and a coded error. */
  checkMessage(message: unknown, meta?: Meta): unknown {
    if (this.schema === undefined) return message;
    const instances = this.behaviour.instances; // in-process instances pass as they are
    if (instances !== undefined && typeof message === 'object' && message !== null) {
      for (let i = 0; i < instances.length; i++) if (message instanceof instances[i]!) return message;
    }
    const r = this.schema.safeParse(message);
    if (r.success) return r.data;
    this.host.deadLetter('invalid', this.ref.address, message, meta);
    throw new TroupeError('TROUPE_ERR_ACTOR_INVALID_MESSAGE', `invalid message for ${this.ref.address}: ${describeIssues(r.error)}`);
  }

  private overflow(message: unknown, meta: Meta | undefined): never {
    const capacity = this.mailbox.capacity;
    this.host.emit({ type: 'mailbox.overflow', address: this.ref.address, capacity });
    this.host.deadLetter('mailbox-full', this.ref.address, message, meta);
    throw new TroupeError('TROUPE_ERR_ACTOR_MAILBOX_FULL', `mailbox of ${this.ref.address} is full (${capacity})`, { details: { capacity } });
  }

  /** Queue an already admitted message (no checks) and make sure a turn is coming. */
  admit(message: unknown, meta: Meta | undefined): void {
    this.mailbox.push(message, meta, !(message instanceof KernelMessage));
    if (!this.scheduled) {
      this.scheduled = true;
      this.dispatcher.schedule(this.slot ?? this.attachSlot());
    }
  }

  private attachSlot(): TurnSlot {
    // the turn function is made here, with the slot: an actor never told holds neither
    return (this.slot = this.dispatcher.attach(() => this.turn(this.incarnation, this.throughput)));
  }

  /**
   * A message the actor sends itself through the kernel (pipeToSelf): past the capacity, in
   * order once queued, kept across a restart, a dead letter once stopped. Nobody waits to
   * hear that it failed the schema, so that is a dead letter and a log line.
   */
  tellSelf(message: unknown): void {
    try {
      message = this.checkMessage(message);
    } catch (e) {
      this.log.error({ err: e }, 'pipeToSelf produced an invalid message; dead-lettered');
      return;
    }
    if (this.status === 'running') this.admit(message, undefined);
    else if (this.status === 'restarting' || this.status === 'starting') this.mailbox.stashPush(message, undefined);
    else this.host.deadLetter('stopped', this.ref.address, message, undefined);
  }

  /** A timer tick: queued past the capacity while this incarnation runs (timers die with it). */
  enqueueTimer(tick: TimerMessage): void {
    if (this.status === 'running') this.admit(tick, undefined);
  }

  /** Signals bypass the capacity check: a full mailbox must still learn that a watched actor died. */
  signal(signal: Signal): void {
    if (this.status === 'running') this.admit(new SignalMessage(signal), undefined);
    else if (this.status === 'restarting' || this.status === 'starting') this.mailbox.stashPush(new SignalMessage(signal), undefined);
  }

  /** As a watcher: the notice goes through the mailbox, ordered with messages. */
  terminated(signal: Terminated): void {
    this.signal(signal);
  }

  // ---- message handling (in turns the dispatcher runs) -------------------------------------

  /**
   * One turn: handle up to `budget` queued messages, one at a time and in order (an async
   * handler is awaited before the next message starts), then hand the rest to the next turn
   * so other actors and I/O run in between. A message that ends the incarnation (crash, stop,
   * restart) ends the turn; the mailbox is then the cell's to redeliver.
   */
  private turn(inc: number, budget: number): unknown {
    try {
      for (; budget > 0; budget--) {
        if (inc !== this.incarnation || this.status !== 'running') return undefined;
        if (this.mailbox.length === 0) {
          this.scheduled = false;
          return undefined;
        }
        const message = this.mailbox.peek();
        const pending = this.handle(message, this.mailbox.shift());
        if (pending !== undefined) {
          const left = budget - 1;
          return pending.then(() => this.turn(inc, left), (e: unknown) => this.turnFault(e, inc, left));
        }
      }
    } catch (e) {
      return this.turnFault(e, inc, 0);
    }
    this.nextTurn(inc);
    return undefined;
  }

  /**
   * Something outside the handler threw (a completion callback, a supervisor): a bug to log,
   * not a reason to stop scheduling this actor, or its mailbox would wait forever.
   */
  private turnFault(error: unknown, inc: number, budget: number): unknown {
    this.log.error({ err: error }, 'actor turn failed outside its handler');
    if (budget > 0) return this.turn(inc, budget);
    this.nextTurn(inc);
    return undefined;
  }

  /** End of a turn: another one if messages are waiting, else none until the next admit. */
  private nextTurn(inc: number): void {
    if (inc !== this.incarnation || this.status !== 'running') return;
    if (this.mailbox.length > 0) this.dispatcher.schedule(this.slot!);
    else this.scheduled = false;
  }

  /** Handle one message; returns a promise when the handler is async. */
  private handle(message: unknown, meta: Meta | undefined): Promise<void> | undefined {
    const inc = this.incarnation;
    const ctx = new MessageContext(this, meta, inc);
    const b = this.behaviour;
    let result: unknown;
    this.handling = true;
    this.lastFailed = undefined;
    this.currentMessage = message;
    this.currentMeta = meta;
    try {
      if (message instanceof KernelMessage) {
        if (message instanceof ProbeMessage) {
          this.clearCurrent();
          message.done();
          return undefined;
        } else if (message instanceof SignalMessage) {
          result = b.signal ? b.signal(this.state, message.signal, ctx) : undefined;
        } else {
          const tick = message as TimerMessage;
          // a tick of a cancelled or replaced timer is dropped, never delivered
          if (this.timers === undefined || !this.timers.accept(tick.ticket)) {
            this.clearCurrent();
            return undefined;
          }
          result = b.receive(this.state, tick.message, ctx);
        }
      } else {
        this.mailbox.depth--;
        if (this.host.faults.active) this.host.faults.beforeMessage(this.path, meta);
        result = b.receive(this.state, message, ctx);
      }
    } catch (e) {
      this.crashed(e, message, meta, inc);
      return undefined;
    }
    if (result instanceof Promise) {
      return result.then(
        (s) => this.handled(s, meta, inc),
        (e) => this.crashed(e, message, meta, inc),
      );
    }
    this.handled(result, meta, inc);
    return undefined;
  }

  private handled(next: unknown, meta: Meta | undefined, inc: number): void {
    if (inc !== this.incarnation || this.status !== 'running') return;
    this.clearCurrent();
    if (next !== undefined && this.persistence === undefined) this.state = next;
    if (meta?.onHandled) meta.onHandled();
    if (this.stopRequested) {
      this.stopRequested = false;
      this.parent?.supervisor().childExited(this, 'normal', undefined, undefined);
    }
  }

  /**
   * The current incarnation failed (inside a handler, or from outside, e.g. a failed commit).
   * `unresumable`: state may hold what never reached disk, so a resume is turned into a
   * restart. `exit` is 'shutdown' for a supervisor past its restart intensity (as in OTP).
   */
  crashed(error: unknown, message: unknown, meta: Meta | undefined, inc: number, unresumable = false, exit: ExitKind = 'crash'): void {
    if (inc !== this.incarnation || this.status !== 'running') return;
    if (message === undefined && this.handling && !(this.currentMessage instanceof KernelMessage)) {
      // e.g. a failed commit while the handler awaits it: the message in hand failed too
      message = this.currentMessage;
      meta = this.currentMeta;
    }
    // one failure of one message is one decision (a failed commit also rejects its handler)
    if (message !== undefined && message === this.lastFailed) return;
    this.lastFailed = message;
    this.clearCurrent();
    this.host.emit({ type: 'actor.failed', address: this.ref.address, error: serializeError(error) });
    this.log.warn({ err: error, correlationId: meta?.correlationId }, 'actor failed');
    // a kernel message (signal, timer tick) is never redelivered nor dead-lettered
    const failing = message === undefined || message instanceof KernelMessage ? undefined : { message, meta: meta ?? new Meta(undefined, undefined, undefined) };
    this.parent?.supervisor().childExited(this, exit, error, failing, unresumable);
  }

  /**
   * A failure outside any message (a pipeToSelf rejection with no onErr): the message in
   * hand, if any, is not blamed; a restart interrupts it and it is handled again.
   */
  failOutside(error: unknown, inc: number): void {
    if (inc !== this.incarnation || this.status !== 'running') return;
    this.host.emit({ type: 'actor.failed', address: this.ref.address, error: serializeError(error) });
    this.log.warn({ err: error }, 'actor failed outside a message');
    this.parent?.supervisor().childExited(this, 'crash', error, undefined);
  }

  clearCurrent(): void {
    this.handling = false;
    this.currentMessage = undefined;
    this.currentMeta = undefined;
  }

  /** ctx.stop(): a normal exit, taking effect after the current message. */
  requestStop(): void {
    this.stopRequested = true;
  }

  persist(event: unknown, meta: Meta | undefined): Promise<void> {
    if (this.persistence === undefined) {
      return Promise.reject(new TroupeError('TROUPE_ERR_ACTOR_NOT_PERSISTENT', `${this.ref.address} has no persistence spec; ctx.persist needs one`));
    }
    return this.persistence.persist(event, meta);
  }
}
