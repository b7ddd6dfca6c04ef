import { TroupeError, newId, type Clock, type Envelope, type Terminated } from '../../protocol/index.js';
import type { TellOptions } from './behaviour.js';
import type { DeadLetters } from './dead-letters.js';
import { Meta, type ReplyChannel } from './meta.js';
import type { ActorRef } from './ref.js';

/** How the kernel reaches actors on other nodes (transport/ implements it via the node). */
export interface RemoteRouter {
  /** Send `env` to `node` (the node its `to` names). */
  tell(env: Envelope, node: string): void;
  /** Ask a remote actor on `node`; the router tracks the reply (and owns `env`: it sets the reply address on it, `''` until then). */
  ask(env: Envelope, timeoutMs: number, node: string): Promise<unknown>;
  /** Watch an actor on another node; returns the watch id to unwatch with. */
  watch(target: string, deliver: (s: Terminated) => void): string;
  unwatch(watchId: string): void;
}

/**
 * The envelope type of a message: its own `type` when that is a string of 1-256 characters
 * (an envelope's limit) and not `troupe.*`, which is kept for the cluster's control envelopes
 * (replies, watches) that a user message must never pass for; else its JS type.
 */
export function messageType(m: unknown): string {
  const t = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return typeof t === 'string' && t.length >= 1 && t.length <= 256 && !t.startsWith('troupe.') ? t : typeof m;
}

/** What the remote glue needs from the node. */
export interface RemoteHost {
  readonly clock: Clock;
  toRef(target: string): ActorRef;
  /** A live local cell's intake, by path. */
  local(path: string): { tell(message: unknown, meta: Meta | undefined): void } | undefined;
  readonly deadLetters: DeadLetters;
  readonly logger: { warn(o: object, msg: string): void };
}

/**
 * The glue between the kernel and the cluster transport: envelopes for sends that leave this
 * node, and delivery of envelopes that arrived from other nodes to local actors.
 */
export class RemoteGlue {
  router: RemoteRouter | undefined;

  constructor(private readonly host: RemoteHost) {}

  /** A new envelope for `message` to `ref`. */
  envelopeFor(ref: ActorRef, message: unknown, options?: { sender?: ActorRef; correlationId?: string }): Envelope {
    // one literal, optional fields assigned after: every envelope has a fast, shared shape;
    // whole milliseconds, whatever the clock gives: an envelope's createdAt is an integer
    const env: Envelope = { id: newId(), to: ref.address, type: messageType(message), createdAt: Math.floor(this.host.clock.now()), payload: message };
    if (options?.sender) env.from = options.sender.address;
    if (options?.correlationId) env.correlationId = options.correlationId;
    return env;
  }

  tell(ref: ActorRef, message: unknown, options?: TellOptions): void {
    const env = this.envelopeFor(ref, message, options);
    if (!this.router) {
      this.host.deadLetters.record('node-down', ref.address, message, undefined);
      throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `no cluster transport to reach ${ref.node}`);
    }
    this.router.tell(env, ref.node);
  }

  ask(ref: ActorRef, message: unknown, timeoutMs: number, correlationId?: string): Promise<unknown> {
    if (!this.router) {
      return Promise.reject(new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `no cluster transport to reach ${ref.node}`));
    }
    // the reply address is in the literal (the router fills it in): one shape for every ask
    // envelope, all fields in the object itself (no property store grown per ask)
    const env: Envelope = { id: newId(), to: ref.address, type: messageType(message), createdAt: Math.floor(this.host.clock.now()), payload: message, replyTo: '' };
    if (correlationId) env.correlationId = correlationId;
    return this.router.ask(env, timeoutMs, ref.node);
  }

  /** Deliver an envelope from another node to a local actor; the reply channel, when given, carries the answer back. */
  deliverLocal(env: Envelope, replyTo?: ReplyChannel, onHandled?: () => void): void {
    const host = this.host;
    const ref = host.toRef(env.to);
    const cell = host.local(ref.path);
    const sender = env.from ? host.toRef(env.from) : undefined;
    // a plain tell (no sender, no asker, no correlation, not durable) carries no metadata,
    // as a local one does: nothing extra allocated, nothing extra kept while it is queued
    const meta = replyTo === undefined && sender === undefined && env.correlationId === undefined && onHandled === undefined && env.durable !== true
      ? undefined
      : new Meta(replyTo, sender, env.correlationId, onHandled, env.durable ? env.id : undefined);
    if (cell === undefined) {
      host.deadLetters.record('not-found', env.to, env.payload, meta);
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
      if (!replyTo) host.logger.warn({ err: e, to: env.to }, 'remote tell rejected');
    }
  }
}
