import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { Signal } from '../../protocol/index.js';
import type { RestartType, SupervisionInput } from '../../supervisors/index.js';
import type { ActorRef } from './ref.js';

/** A message handler: (state, message, context) -> next state (or a promise of it). */
export type Receive<S, M> = (state: S, message: M, ctx: Context<M>) => S | void | Promise<S | void>;

/** Event sourcing for a persistent actor: the state is the fold of its journaled events. */
export interface PersistenceSpec<S, E> {
  /** Persistence key; defaults to the actor's path. Must be unique per node. */
  key?: string;
  /** Pure: applies one event to the state. Used live and on recovery, so never a side effect here. */
  apply: (state: S, event: E) => S;
  /** Snapshot every N events (default 1000). */
  snapshotEvery?: number;
  /** Snapshots kept after compaction (default 2). */
  keepSnapshots?: number;
}

/**
 * A behaviour: how an actor starts and handles messages and signals. Persistent behaviours
 * change state only through `ctx.persist(event)`; their handler's return value is ignored.
 *
 * @example
 * const counter = behaviour<{ n: number }, { type: 'inc' } | { type: 'get' }>({
 *   initial: () => ({ n: 0 }),
 *   receive: (s, m, ctx) => {
 *     if (m.type === 'inc') return { n: s.n + 1 };
 *     ctx.reply(s.n);
 *   },
 * });
 */
export interface Behaviour<S = unknown, M = unknown, E = unknown> {
  /** Initial state of each incarnation (before recovery, for persistent actors). */
  initial?: (ctx: Context<M>) => S;
  receive: Receive<S, M>;
  /** System signals (started, stopping, terminated of a watched actor, ...). */
  signal?: (state: S, signal: Signal, ctx: Context<M>) => S | void | Promise<S | void>;
  /**
   * false: `signal` has nothing to do with `signal.started`, so it is not sent (an actor that
   * is never told anything then takes no dispatcher turn at all). Default true.
   */
  signalStarted?: boolean;
  /** zod schema checked on every tell/ask to this actor: a bad message is a coded error to the sender. */
  messages?: ZodType<M>;
  /**
   * Classes whose instances the actor takes as they are, before `messages` is consulted:
   * commands and replies that code of this process builds with typed constructors (the
   * gateway's GatewayStream, an agent's RunFinished). Nothing from outside the process is
   * ever one: a message from another node arrives decoded as plain data, and `messages`
   * checks it like any other. `messages` should let the same instances through too (for
   * callers that parse with it directly); this is the same rule without a schema run per
   * message.
   *
   * @example
   * { messages: commandSchema, instances: [RunFinished, QueueTick], receive }
   */
  instances?: ReadonlyArray<abstract new (...args: never[]) => unknown>;
  persistence?: PersistenceSpec<S, E>;
}

/** Identity helper that infers behaviour types. */
export function behaviour<S, M, E = never>(b: Behaviour<S, M, E>): Behaviour<S, M, E> {
  return b;
}

/** How to spawn an actor (or a supervisor: an actor whose spec lists children). */
export interface ActorSpec<S = any, M = any, E = any> {
  /** Unique among siblings; generated when absent. */
  name?: string;
  behaviour?: Behaviour<S, M, E> | Receive<S, M>;
  /** Initial state when `behaviour` is a plain function. */
  initialState?: S;
  /** OTP restart type of this child (default permanent). */
  restart?: RestartType;
  /** How this actor supervises its own children. */
  supervision?: SupervisionInput;
  /** Children started (in order) by every incarnation of this actor. */
  children?: ActorSpec[];
  /** Bounded mailbox capacity (default from the node, 10,000). */
  mailboxCapacity?: number;
  /** Redeliveries of a message that crashes the actor before it becomes a poison dead letter (default 3). */
  poisonAfter?: number;
  /** Messages handled per scheduling turn before other actors and I/O get theirs (default 64). */
  throughput?: number;
}

export interface AskOptions {
  /** Default 5,000 ms. */
  timeoutMs?: number;
  correlationId?: string;
}

export interface TellOptions {
  correlationId?: string;
  /** Sender shown to the receiver as `ctx.sender`. */
  sender?: ActorRef;
}

/**
 * An actor's timers (`ctx.timers`), keyed, on the node's injected clock. Starting a key again
 * replaces its timer, and a message of the replaced (or cancelled) timer is never delivered,
 * even one already queued. Every timer is cancelled when the actor restarts or stops. Timer
 * messages bypass the mailbox capacity (like signals) and are checked against the actor's
 * `messages` schema when the timer is started. A periodic timer whose last tick is still
 * queued skips a tick rather than pile them up.
 *
 * @example
 * ctx.timers.startSingle('retry', 500, { type: 'retry' });
 * ctx.timers.startPeriodic('tick', 1_000, { type: 'tick' });
 * ctx.timers.cancel('tick');
 */
export interface Timers<M = unknown> {
  /** Deliver `message` once after `delayMs` (0 to 2^31-1 ms). */
  startSingle(key: string, delayMs: number, message: M): void;
  /** Deliver `message` every `intervalMs` (1 to 2^31-1 ms), the first after one interval. */
  startPeriodic(key: string, intervalMs: number, message: M): void;
  /** Cancel the key's timer; its queued message, if any, is dropped. No-op for an unknown key. */
  cancel(key: string): void;
  cancelAll(): void;
  isActive(key: string): boolean;
}

/** What a handler can do. */
export interface Context<M = unknown> {
  readonly self: ActorRef<M>;
  readonly parent: ActorRef | undefined;
  /** The sender when an actor sent the message with a sender. */
  readonly sender: ActorRef | undefined;
  readonly correlationId: string | undefined;
  /** Node id. */
  readonly node: string;
  /** Logger with node, actor path and correlation id. */
  readonly log: Logger;
  /** True when the current message was asked (a reply is expected). */
  readonly expectsReply: boolean;
  spawn<S2, M2>(spec: ActorSpec<S2, M2>): ActorRef<M2>;
  tell<M2>(ref: ActorRef<M2> | string, message: M2, options?: TellOptions): void;
  ask<R = unknown, M2 = unknown>(ref: ActorRef<M2> | string, message: M2, options?: AskOptions): Promise<R>;
  /** Reply to the asker of the current message. */
  reply(value: unknown): void;
  /** Fail the asker of the current message with an error (the actor keeps running). */
  replyError(error: unknown): void;
  /** Capture the reply channel to answer later (after the handler has returned). */
  replier(): { reply(value: unknown): void; error(e: unknown): void };
  /** Death watch: a `signal.terminated` arrives when the ref stops for any reason. */
  watch(ref: ActorRef | string): void;
  unwatch(ref: ActorRef | string): void;
  /** Stop self (a normal exit: restarted only if permanent). */
  stop(): void;
  /** Persistent actors: journal an event; resolves after the commit. */
  persist(event: unknown): Promise<void>;
  /**
   * When `promise` settles, deliver `onOk(value)` (or `onErr(error)`) to this actor as a
   * message. It bypasses the mailbox capacity (never refused for a full mailbox) and is
   * ordered like any other message once enqueued. It goes to the actor, not to this
   * incarnation: after a restart the new incarnation receives it (as in Akka); once the actor
   * stopped it is a dead letter. A mapped `undefined` delivers nothing. Without `onErr` a
   * rejection fails the actor, as a throw in its handler would, if the incarnation that piped
   * is still running (after a restart it is only logged: that work belonged to the old one).
   * The mappers run outside the actor's turn: they must not touch its state.
   *
   * @example ctx.pipeToSelf(fetchUser(id), (u) => ({ type: 'user', u }), (e) => ({ type: 'failed', e: String(e) }));
   */
  pipeToSelf<T>(promise: PromiseLike<T>, onOk: (value: T) => M | undefined, onErr?: (error: unknown) => M | undefined): void;
  /** This incarnation's timers: see {@link Timers}. */
  readonly timers: Timers<M>;
}
