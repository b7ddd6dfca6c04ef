import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import {
  TroupeError, describeIssues, serializeError, type Clock, type SerializedError, type Signal, type Terminated, type TerminatedReason,
} from '../../protocol/index.js';
import {
  SupervisorPlanner, supervision, type ChildInfo, type ExitKind, type SupervisionPolicy,
} from '../../supervisors/index.js';
import type { ActorSpec, Behaviour, TellOptions } from './behaviour.js';
import type { InspectionEvent } from './inspection.js';
import { Meta } from './meta.js';
import { dispatch, spawnIncarnation, stopIncarnation, type NactRef } from './nact-bridge.js';
import { DeliveryQueue, type Delivery } from './queue.js';
import { ActorRef } from './ref.js';
import { MessageContext } from './context.js';

/** The durable log a persistent actor journals to (implemented by storage/). */
export interface ActorJournal {
  recover(initial: any, apply: (s: any, e: any) => any): { state: any; seq: number };
  persist(event: unknown, stateAfter: () => unknown, extra?: { inboxDone?: string }): Promise<number>;
  /** Resolves once every persist issued so far has settled. */
  drain(): Promise<void>;
}

import type { DeadLetterReason } from '../../storage/index.js';

/** What a cell needs from its node: a narrow interface, so cells never see the node's internals. */
export interface CellHost {
  readonly id: string;
  readonly system: NactRef;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly defaultMailboxCapacity: number;
  random(): number;
  emit(event: InspectionEvent): void;
  register(cell: Cell): void;
  unregister(cell: Cell): void;
  deadLetter(reason: DeadLetterReason, to: string, message: unknown, meta: Meta | undefined, error?: unknown): void;
  openJournal(key: string, spec: { snapshotEvery?: number; keepSnapshots?: number }): ActorJournal;
  context: ContextServices;
}

/** Services a handler's context forwards to the node. */
export interface ContextServices {
  tell(ref: ActorRef | string, message: unknown, options?: TellOptions): void;
  ask<R>(ref: ActorRef | string, message: unknown, options?: { timeoutMs?: number; correlationId?: string }): Promise<R>;
  watch(watcher: Cell, ref: ActorRef | string): void;
  unwatch(watcher: Cell, ref: ActorRef | string): void;
}

/** A watcher: a local cell, or something outside (a node-level callback, a remote node). */
export type Watcher = Cell | { kind: 'external'; id: string; deliver: (s: Terminated) => void };

/** A system signal travelling through the mailbox, so it is ordered with messages. */
export class SignalMessage {
  constructor(readonly signal: Signal) {}
}

type Status = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';


const NAME_RE = /^[A-Za-z0-9._~:@+-]{1,200}$/;
/** What a cell dispatches to its nact incarnation: "take a turn"; the messages stay in the cell's queue. */
const TURN = Symbol('turn');
/** Messages per turn by default: enough to amortise a turn, few enough that one busy actor does not starve the rest. */
const DEFAULT_THROUGHPUT = 64;
/** Check trusted messages too (TROUPE_CHECK_TRUSTED=1; the test suite runs so). */
const CHECK_TRUSTED = process.env.TROUPE_CHECK_TRUSTED === '1';
let nactNames = 0;

/**
 * One actor's identity across incarnations: address, state, bounded mailbox accounting,
 * the stash kept while it restarts, its children (in start order), its watchers, and, as a
 * supervisor, the planner that decides what a child failure means.
 */
export class Cell {
  readonly ref: ActorRef;
  readonly name: string;
  readonly path: string;
  readonly behaviour: Behaviour<any, any, any>;
  readonly capacity: number;
  readonly poisonAfter: number;
  /** Messages handled per scheduling turn. */
  readonly throughput: number;
  readonly children = new Map<string, Cell>();
  readonly watchers = new Set<Watcher>();
  /** Cells this one watches, to unwatch on stop. */
  readonly watching = new Set<Cell>();
  /** Watches this cell placed on actors of other nodes: target address -> watch id. */
  readonly remoteWatches = new Map<string, string>();
  status: Status = 'starting';
  state: any;
  incarnation = 0;
  private nact: NactRef | undefined;
  /** Admitted user messages not yet started (the bounded mailbox's fill level). */
  private depth = 0;
  /** Admitted messages the current incarnation has not started yet. */
  private readonly queue = new DeliveryQueue();
  /** A turn is dispatched to nact (or running): new messages join it. */
  private scheduled = false;
  /** Messages kept while there is no incarnation (starting, restarting, backing off). */
  private stash: Delivery[] = [];
  private stopRequested = false;
  private restartTimer: unknown;
  private planner?: SupervisorPlanner;
  private plannersPerChild?: Map<string, SupervisorPlanner>;
  private policy?: SupervisionPolicy;
  private journal?: ActorJournal;
  private inflightPersists = 0;
  /** The message being handled (one at a time per actor): a crash from outside the handler still accounts for it. */
  private currentMessage: unknown = undefined;
  private currentMeta: Meta | undefined = undefined;
  private handling = false;
  private lastFailed: unknown = undefined;
  private _log?: Logger;
  private childSeq = 0;

  constructor(
    readonly host: CellHost,
    readonly parent: Cell | undefined,
    readonly spec: ActorSpec,
    name: string,
    /** Guardians (/user, /system) give each child its own restart budget and never fail. */
    readonly guardian = false,
  ) {
    if (!NAME_RE.test(name)) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid actor name "${name}": use 1-200 of [A-Za-z0-9._~:@+-]`);
    }
    this.name = name;
    this.path = parent ? `${parent.path}/${name}` : name;
    this.ref = new ActorRef(host.id, this.path);
    const b = spec.behaviour;
    this.behaviour = typeof b === 'function' ? { receive: b } : (b ?? { receive: () => undefined });
    this.capacity = spec.mailboxCapacity ?? host.defaultMailboxCapacity;
    this.poisonAfter = spec.poisonAfter ?? 3;
    this.throughput = spec.throughput ?? DEFAULT_THROUGHPUT;
    if (!Number.isInteger(this.throughput) || this.throughput < 1) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid throughput ${String(spec.throughput)} for ${this.path}: a positive integer`);
    }
  }

  get log(): Logger {
    return (this._log ??= this.host.logger.child({ actor: this.path }));
  }

  get mailboxDepth(): number {
    return this.depth + this.stash.length;
  }

  get alive(): boolean {
    return this.status !== 'stopped' && this.status !== 'stopping';
  }

  /** Start the first incarnation. */
  start(): void {
    this.host.register(this);
    this.startIncarnation();
    this.host.emit({ type: 'actor.spawned', address: this.ref.address, incarnation: this.incarnation });
  }

  /** Spawn a child of this cell. */
  spawnChild(spec: ActorSpec): Cell {
    const name = spec.name ?? `$${(this.childSeq++).toString(36)}`;
    if (this.children.has(name)) {
      throw new TroupeError('TROUPE_ERR_ACTOR_NAME_TAKEN', `${this.path}/${name} already exists`);
    }
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

  // ---- message intake -------------------------------------------------------------------

  /**
   * Enqueue a message. Throws on overflow or an invalid message; dead-letters when stopped.
   * A message its sender built to this actor's own schema (`trusted` is that schema) is not
   * checked again.
   */
  tell(message: unknown, meta: Meta | undefined, trusted?: ZodType): void {
    const schema = this.behaviour.messages;
    const skip = trusted !== undefined && trusted === schema;
    if (schema !== undefined && (!skip || CHECK_TRUSTED)) {
      const r = schema.safeParse(message);
      if (!r.success) {
        this.host.deadLetter('invalid', this.ref.address, message, meta);
        const what = skip ? 'a trusted message (a bug in its sender) failed the schema of' : 'invalid message for';
        throw new TroupeError('TROUPE_ERR_ACTOR_INVALID_MESSAGE', `${what} ${this.ref.address}: ${describeIssues(r.error)}`);
      }
      if (!skip) message = r.data;
    }
    if (this.status === 'running') {
      if (this.depth >= this.capacity) this.overflow(message, meta);
      this.admit(message, meta);
    } else if (this.status === 'restarting' || this.status === 'starting') {
      if (this.stash.length >= this.capacity) this.overflow(message, meta);
      this.stash.push({ message, meta });
    } else {
      this.host.deadLetter('stopped', this.ref.address, message, meta);
      meta?.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_NOT_FOUND', `${this.ref.address} is stopped`));
    }
  }

  private overflow(message: unknown, meta: Meta | undefined): never {
    this.host.emit({ type: 'mailbox.overflow', address: this.ref.address, capacity: this.capacity });
    this.host.deadLetter('mailbox-full', this.ref.address, message, meta);
    throw new TroupeError('TROUPE_ERR_ACTOR_MAILBOX_FULL', `mailbox of ${this.ref.address} is full (${this.capacity})`, { details: { capacity: this.capacity } });
  }

  /** Queue an already admitted message (no checks: validation and capacity were done) and make sure a turn is coming. */
  private admit(message: unknown, meta: Meta | undefined): void {
    if (!(message instanceof SignalMessage)) this.depth++;
    this.queue.push(message, meta);
    if (!this.scheduled) {
      this.scheduled = true;
      dispatch(this.nact!, TURN);
    }
  }

  /** Signals bypass the capacity check: a full mailbox must still learn that a watched actor died. */
  signal(signal: Signal): void {
    if (this.status === 'running') {
      this.admit(new SignalMessage(signal), undefined);
    } else if (this.status === 'restarting' || this.status === 'starting') {
      this.stash.push({ message: new SignalMessage(signal), meta: undefined });
    }
  }

  // ---- message handling (runs inside nact) ----------------------------------------------

  private readonly nactFn = (): unknown => this.turn(this.incarnation, this.throughput);

  /**
   * One nact turn: handle up to `budget` queued messages, one at a time and in order (an
   * async handler is awaited before the next message starts), then hand the rest to the
   * next turn so other actors and I/O run in between. A message that ends the incarnation
   * (crash, stop, restart) ends the turn; the queue is then the cell's to redeliver.
   */
  private turn(inc: number, budget: number): unknown {
    try {
      for (; budget > 0; budget--) {
        if (inc !== this.incarnation || this.status !== 'running') return undefined;
        if (this.queue.length === 0) {
          this.scheduled = false;
          return undefined;
        }
        const message = this.queue.peek();
        const pending = this.handle(message, this.queue.shift());
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
   * not a reason to stop scheduling this actor, or its queue would wait forever.
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
    if (this.queue.length > 0) dispatch(this.nact!, TURN);
    else this.scheduled = false;
  }

  /** Handle one message; returns a promise when the handler is async. */
  private handle(message: unknown, meta: Meta | undefined): Promise<void> | undefined {
    const inc = this.incarnation;
    const ctx = new MessageContext(this, meta);
    let result: unknown;
    this.handling = true;
    this.lastFailed = undefined;
    this.currentMessage = message;
    this.currentMeta = meta;
    try {
      if (message instanceof SignalMessage) {
        result = this.behaviour.signal ? this.behaviour.signal(this.state, message.signal, ctx) : undefined;
      } else {
        this.depth--;
        result = this.behaviour.receive(this.state, message, ctx);
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
    if (next !== undefined && this.journal === undefined) this.state = next;
    if (meta?.onHandled) meta.onHandled();
    if (this.stopRequested) {
      this.stopRequested = false;
      this.parent?.childExited(this, 'normal', undefined, undefined);
    }
  }

  /**
   * The current incarnation failed (inside a handler, or from outside, e.g. a failed commit).
   * `unresumable`: state may hold what never reached disk, so a resume is turned into a restart.
   */
  crashed(error: unknown, message: unknown, meta: Meta | undefined, inc: number, unresumable = false): void {
    if (inc !== this.incarnation || this.status !== 'running') return;
    if (message === undefined && this.handling && !(this.currentMessage instanceof SignalMessage)) {
      // e.g. a failed commit while the handler awaits it: the message in hand failed too
      message = this.currentMessage;
      meta = this.currentMeta;
    }
    // one failure of one message is one decision (a failed commit also rejects its handler)
    if (message !== undefined && message === this.lastFailed) return;
    this.lastFailed = message;
    this.clearCurrent();
    const serialized = serializeError(error);
    this.host.emit({ type: 'actor.failed', address: this.ref.address, error: serialized });
    this.log.warn({ err: error, correlationId: meta?.correlationId }, 'actor failed');
    const failing = message === undefined ? undefined : { message, meta: meta ?? new Meta(undefined, undefined, undefined) };
    if (!this.parent) return;
    this.parent.childExited(this, 'crash', error, failing, unresumable);
  }

  /** The message an async handler was working on when the incarnation went away, if any. */
  private takeCurrent(): Delivery | undefined {
    const d = this.handling && !(this.currentMessage instanceof SignalMessage)
      ? { message: this.currentMessage, meta: this.currentMeta }
      : undefined;
    this.clearCurrent();
    return d;
  }

  /** Stop the nact incarnation; returns what it had not started yet, in order. */
  private stopNact(): Delivery[] {
    if (this.nact) stopIncarnation(this.nact);
    this.nact = undefined;
    this.scheduled = false;
    this.depth = 0;
    return this.queue.drain();
  }

  private clearCurrent(): void {
    this.handling = false;
    this.currentMessage = undefined;
    this.currentMeta = undefined;
  }

  /** ctx.stop(): a normal exit, taking effect after the current message. */
  requestStop(): void {
    this.stopRequested = true;
  }

  // ---- supervision (this cell as the parent) --------------------------------------------

  private plannerFor(child: string): SupervisorPlanner {
    this.policy ??= supervision(this.spec.supervision);
    if (!this.guardian) return (this.planner ??= new SupervisorPlanner(this.policy));
    this.plannersPerChild ??= new Map();
    let p = this.plannersPerChild.get(child);
    if (!p) {
      p = new SupervisorPlanner(this.policy);
      this.plannersPerChild.set(child, p);
    }
    return p;
  }

  /** A child is gone for good: its restart window and backoff go with it. */
  forgetChild(name: string): void {
    this.plannersPerChild?.delete(name);
    this.planner?.forget(name);
  }

  private childInfos(): ChildInfo[] {
    const out: ChildInfo[] = [];
    for (const c of this.children.values()) out.push({ id: c.name, restart: c.spec.restart ?? 'permanent' });
    return out;
  }

  /** A child crashed or exited normally: plan and carry out the supervision decision. */
  childExited(child: Cell, exit: ExitKind, error: unknown, failing: Delivery | undefined, unresumable = false): void {
    const planner = this.plannerFor(child.name);
    const plan = planner.plan(this.childInfos(), child.name, exit, error, this.host.clock.now(), this.host.random(), unresumable);
    const serialized = error === undefined ? undefined : serializeError(error);
    const stopsAll = plan.kind === 'escalate' && !this.guardian && this.parent !== undefined;
    const affected = plan.kind === 'restart' ? plan.restart : plan.kind === 'remove' ? [plan.child] : stopsAll ? [...this.children.keys()] : [child.name];
    this.host.emit({
      type: 'supervisor.decision', supervisor: this.ref.address, child: child.ref.address, directive: plan.directive,
      plan: plan.kind, strategy: planner.policy.strategy, affected,
      ...(plan.kind === 'restart' ? { delayMs: plan.delayMs } : {}),
      ...(plan.kind === 'escalate' ? { reason: plan.reason } : {}),
      ...(serialized ? { error: serialized } : {}),
    });
    this.log.info({ child: child.path, exit, plan: plan.kind, directive: plan.directive, affected, err: error }, 'supervisor decision');

    switch (plan.kind) {
      case 'resume':
        failing?.meta?.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_FAILED', `${child.ref.address} failed: ${serialized?.message}`, { cause: error }));
        if (failing) this.host.deadLetter('poison', child.ref.address, failing.message, failing.meta, error);
        return;
      case 'remove':
        child.terminate(exit === 'crash' ? 'crashed' : 'stopped', error, failing);
        return;
      case 'restart': {
        const restartSet = new Set(plan.restart);
        for (const id of plan.stop) {
          const c = this.children.get(id);
          if (!c) continue;
          if (restartSet.has(id)) c.suspend(id === child.name ? failing : undefined, error);
          else c.terminate('supervisor-stopped', undefined, undefined);
        }
        for (const id of plan.restart) this.children.get(id)?.restartAfter(plan.delayMs);
        return;
      }
      case 'escalate': {
        const err = plan.reason === 'intensity'
          ? new TroupeError('TROUPE_ERR_SUPERVISOR_INTENSITY', `${this.ref.address}: more than ${planner.policy.maxRestarts} restarts within ${planner.policy.withinMs}ms (last: ${child.path}: ${serialized?.message})`, { cause: error })
          : error;
        if (this.guardian || !this.parent) {
          // The top of a tree cannot fail: it stops the failed child for good and says so.
          this.host.emit({ type: 'supervisor.escalated', supervisor: this.ref.address, error: serializeError(err) });
          this.log.error({ child: child.path, err }, 'failure escalated to the top of the tree; child stopped');
          child.terminate('crashed', err, failing);
          return;
        }
        // Stop every child (reverse start order), the failed one first marked as crashed.
        child.terminate('crashed', error, failing);
        this.stopChildren('supervisor-stopped');
        this.crashed(err, undefined, undefined, this.incarnation);
        return;
      }
    }
  }

  private stopChildren(reason: TerminatedReason): void {
    const kids = [...this.children.values()].reverse();
    for (const c of kids) c.terminate(reason, undefined, undefined);
  }

  // ---- lifecycle --------------------------------------------------------------------------

  private startIncarnation(): void {
    // a new incarnation of a supervisor starts with a fresh restart budget, as in OTP
    this.planner = undefined;
    this.plannersPerChild = undefined;
    const ctx = new MessageContext(this, undefined);
    let state = this.behaviour.initial ? this.behaviour.initial(ctx) : this.spec.initialState;
    const p = this.behaviour.persistence;
    if (p) {
      this.journal ??= this.host.openJournal(p.key ?? this.path, { snapshotEvery: p.snapshotEvery, keepSnapshots: p.keepSnapshots });
      state = this.journal.recover(state, p.apply).state;
    }
    this.state = state;
    this.nact = spawnIncarnation(this.host.system, `a${(nactNames++).toString(36)}`, this.nactFn);
    this.depth = 0;
    this.stopRequested = false;
    this.status = 'running';
    for (const c of this.spec.children ?? []) this.spawnChild(c);
    if (this.behaviour.signal) this.signal({ type: 'signal.started' });
    const stash = this.stash;
    this.stash = [];
    // already admitted (validated, counted): replayed as they are, never refused
    for (const d of stash) this.admit(d.message, d.meta);
  }

  /** Stop the current incarnation for a restart, keeping queued messages (and the failing one, unless poison). */
  suspend(failing: Delivery | undefined, error: unknown): void {
    if (this.status !== 'running' && this.status !== 'starting') return;
    this.status = 'restarting';
    if (this.behaviour.signal) {
      try {
        const r = this.behaviour.signal(this.state, { type: 'signal.restarting', ...(error === undefined ? {} : { error: serializeError(error) }) }, new MessageContext(this, undefined));
        if (r instanceof Promise) r.catch(() => undefined);
      } catch {
        // the incarnation is going away anyway
      }
    }
    this.stopChildren('supervisor-stopped');
    const pending = this.stopNact();
    const kept: Delivery[] = [];
    const inHand = this.takeCurrent();
    if (inHand) kept.push(inHand); // interrupted mid-handler (a sibling's restart): handled again
    if (failing) {
      const meta = failing.meta ?? new Meta(undefined, undefined, undefined);
      meta.attempts += 1;
      if (meta.attempts >= this.poisonAfter) {
        this.host.deadLetter('poison', this.ref.address, failing.message, meta, error);
        meta.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_FAILED', `message crashed ${this.ref.address} ${meta.attempts} times; dead-lettered as poison`, { cause: error }));
      } else {
        kept.push({ message: failing.message, meta });
      }
    }
    this.stash = kept.concat(pending, this.stash);
  }

  /** Restart after the backoff delay; the timer is this cell's, so stopping it cancels the restart. */
  restartAfter(delayMs: number): void {
    if (delayMs <= 0) {
      this.resumeIncarnation(0);
      return;
    }
    this.restartTimer = this.host.clock.setTimeout(() => {
      this.restartTimer = undefined;
      this.resumeIncarnation(delayMs);
    }, delayMs);
  }

  /** Start the next incarnation, once in-flight persists settled. */
  private resumeIncarnation(delayMs: number): void {
    if (this.status !== 'restarting') return;
    if (this.inflightPersists > 0 && this.journal) {
      // recover only once the old incarnation's commits settled
      void this.journal.drain().then(() => this.resumeIncarnation(delayMs));
      return;
    }
    this.incarnation += 1;
    try {
      this.startIncarnation();
    } catch (e) {
      // failing to start (e.g. a corrupt journal) is a crash of the new incarnation
      this.status = 'running';
      this.log.error({ err: e }, 'actor failed to start');
      this.crashed(e, undefined, undefined, this.incarnation);
      return;
    }
    this.host.emit({ type: 'actor.restarted', address: this.ref.address, incarnation: this.incarnation, delayMs });
  }

  /** Stop for good: children first, then this; queued messages become dead letters; watchers learn. */
  terminate(reason: TerminatedReason, error: unknown, failing: Delivery | undefined): void {
    if (this.status === 'stopped' || this.status === 'stopping') return;
    const wasRunning = this.status === 'running';
    this.status = 'stopping';
    if (this.restartTimer !== undefined) {
      this.host.clock.clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    if (wasRunning && this.behaviour.signal) {
      try {
        const r = this.behaviour.signal(this.state, { type: 'signal.stopping' }, new MessageContext(this, undefined));
        if (r instanceof Promise) r.catch(() => undefined);
      } catch (e) {
        this.log.warn({ err: e }, 'stopping signal handler threw');
      }
    }
    this.stopChildren('supervisor-stopped');
    const pending = this.stopNact();
    this.status = 'stopped';
    const inHand = this.takeCurrent();
    if (inHand) this.stash.unshift(inHand);
    const replyErr = (): TroupeError => error instanceof TroupeError
      ? error
      : new TroupeError('TROUPE_ERR_ACTOR_STOPPED', `${this.ref.address} stopped (${reason})`, error === undefined ? {} : { cause: error });
    if (failing) {
      this.host.deadLetter('stopped', this.ref.address, failing.message, failing.meta, error);
      failing.meta?.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_FAILED', `${this.ref.address} failed: ${serializeError(error).message}`, { cause: error }));
    }
    const queued = [...pending, ...this.stash];
    this.stash = [];
    for (const d of queued) {
      if (d.message instanceof SignalMessage) continue;
      this.host.deadLetter('stopped', this.ref.address, d.message, d.meta, error);
      d.meta?.replyTo?.error(replyErr());
    }
    if (this.parent && this.parent.children.get(this.name) === this) {
      this.parent.children.delete(this.name);
      this.parent.forgetChild(this.name);
    }
    this.host.unregister(this);
    for (const w of this.watching) w.watchers.delete(this);
    this.watching.clear();
    for (const target of [...this.remoteWatches.keys()]) this.host.context.unwatch(this, target);
    const serialized: SerializedError | undefined = error === undefined ? undefined : serializeError(error);
    const sig = { type: 'signal.terminated' as const, ref: this.ref.address, reason, ...(serialized ? { error: serialized } : {}) };
    for (const w of this.watchers) {
      if (w instanceof Cell) w.signal(sig);
      else w.deliver(sig);
    }
    this.watchers.clear();
    this.host.emit({ type: 'actor.stopped', address: this.ref.address, reason });
    if (reason === 'crashed') this.log.warn({ reason, err: error }, 'actor stopped');
    else this.log.debug({ reason }, 'actor stopped');
  }

  // ---- persistence ------------------------------------------------------------------------

  /** The state as it stands (a snapshot reads it); made once, not per persisted event. */
  private readonly stateNow = (): unknown => this.state;

  persist(event: unknown, meta: Meta | undefined): Promise<void> {
    const p = this.behaviour.persistence;
    if (!p || !this.journal) {
      return Promise.reject(new TroupeError('TROUPE_ERR_CONFIG_INVALID', `${this.ref.address} is not a persistent actor`));
    }
    const inc = this.incarnation;
    this.state = p.apply(this.state, event);
    const extra = meta?.id !== undefined && meta.onHandled ? { inboxDone: meta.id } : undefined;
    if (extra && meta) meta.onHandled = undefined; // the commit itself marks the durable message done
    this.inflightPersists++;
    return this.journal.persist(event, this.stateNow, extra).then(
      () => { this.inflightPersists--; },
      (err: unknown) => {
        this.inflightPersists--;
        // State now holds an event that is not durable: crash so the supervisor recovers from disk.
        this.crashed(err, undefined, undefined, inc, true);
        throw err;
      },
    );
  }
}
