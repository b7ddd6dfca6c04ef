import type { Logger } from 'pino';
import type { Clock, Envelope } from '../protocol/index.js';
import type { ReplyChannel } from './kernel/index.js';
import type { ActorRef } from './kernel/index.js';
import type { InspectionListener } from './kernel/index.js';

/** How often a blocked feed looks at its actors' mailboxes again, in ms (on the node's clock). */
export const DURABLE_FEED_RETRY_MS = 10;

/** Most durable messages a feed keeps in one actor's mailbox at a time (at most half its capacity). */
export const DURABLE_FEED_WINDOW = 1_000;

/** What a {@link DurableFeed} needs from the node: the kernel's public face, nothing more. */
export interface DurableFeedHost {
  readonly clock: Clock;
  readonly logger: Logger;
  /** True once the node is shutting down: its actors are stopping, and none is "not found" for good. */
  readonly isClosing: boolean;
  lookup(target: string): ActorRef | undefined;
  mailboxDepth(target: ActorRef): number;
  mailboxCapacity(target: ActorRef): number | undefined;
  deliverLocal(env: Envelope, replyTo?: ReplyChannel, onHandled?: () => void): void;
  inspect(listener: InspectionListener): () => void;
}

/** One durable envelope waiting for room in its actor's mailbox. */
interface Waiting {
  env: Envelope;
  /** The node it came from ('' when unknown), told if it is dead-lettered here. */
  fromNode: string;
  replyTo: ReplyChannel | undefined;
  /** Marks the inbox entry done; after this the sender's copy is never delivered again. */
  done: () => void;
}

/** The durable envelopes for one actor that it has not admitted yet, oldest first. */
class Backlog {
  items: Waiting[] = [];
  head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
}

/**
 * Backpressure between the durable inbox and the actors it is for. The inbox has committed
 * (and acknowledged) every envelope handed here; the feed admits an envelope into its actor's
 * mailbox only while that mailbox holds fewer than the window (at most half its capacity, so
 * the actor's other traffic still finds room),
 * and keeps the rest, in order, until the actor has handled enough: a handled message makes
 * room at once, and a blocked feed looks again every {@link DURABLE_FEED_RETRY_MS} on the
 * node's clock (persistent actors mark their inbox entries done in the event's commit, and
 * other traffic may fill a mailbox too). A full mailbox is "not yet", never a dead letter:
 * an envelope is done only once handled (or journaled), or when the kernel refuses it for
 * good (no such actor, a message its schema rejects).
 *
 * @example
 * const feed = new DurableFeed(kernel, { atomicDone: true });
 * feed.offer(env, undefined, () => void inbox.done(env.id));
 */
export class DurableFeed {
  readonly #host: DurableFeedHost;
  /** Actors with durable envelopes waiting, by address (absent: none waiting). */
  readonly #backlogs = new Map<string, Backlog>();
  readonly #unsubscribe: () => void;
  #timer: unknown;
  #closed = false;
  /** Address being delivered to right now, and whether its mailbox just overflowed. */
  #delivering: string | undefined;
  #overflowed = false;

  readonly #atomicDone: boolean;
  readonly #onFinal: ((env: Envelope, reason: 'not-found' | 'invalid', fromNode: string) => void) | undefined;

  /**
   * `atomicDone`: the node has a data dir, so a persistent actor marks an inbox entry done in
   * its event's own commit (exactly once across a crash); without one, entries are marked
   * when the handler returns. `onFinal`: an envelope the kernel refused for good (no such
   * actor, or its schema rejects the message) and dead-lettered; the cluster tells its sender.
   */
  constructor(host: DurableFeedHost, options: { atomicDone: boolean; onFinal?: (env: Envelope, reason: 'not-found' | 'invalid', fromNode: string) => void }) {
    this.#host = host;
    this.#atomicDone = options.atomicDone;
    this.#onFinal = options.onFinal;
    this.#unsubscribe = host.inspect((e) => {
      if (e.type === 'mailbox.overflow' && e.address === this.#delivering) this.#overflowed = true;
    });
  }

  /** Envelopes waiting for room, over all actors (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const b of this.#backlogs.values()) n += b.size;
    return n;
  }

  /**
   * A durable envelope from the transport, with its inbox entry: flagged durable (so a
   * persistent actor's commit marks it done) when the node has a data dir, plain otherwise.
   *
   * @example feed.inbound(env, 'a', replyTo, { id: env.id, done: () => inbox.done(env.id) });
   */
  inbound(env: Envelope, fromNode: string, replyTo: ReplyChannel | undefined, entry: { id: string; done: () => Promise<void> }): void {
    const log = this.#host.logger;
    const done = (): void => { void entry.done().catch((e: unknown) => log.warn({ err: e, id: entry.id }, 'inbox done failed')); };
    const { durable: _flag, ...plain } = env;
    this.offer(this.#atomicDone ? { ...env, durable: true, id: entry.id } : { ...plain, id: entry.id }, replyTo, done, fromNode);
  }

  /**
   * Hand over a durable envelope the inbox has committed: admitted now if its actor has
   * room and nothing older is waiting for it, else kept in order until it has.
   */
  offer(env: Envelope, replyTo: ReplyChannel | undefined, done: () => void, fromNode = ''): void {
    if (this.#closed || this.#host.isClosing) return; // still pending in the inbox: re-delivered at the next start
    const w: Waiting = { env, fromNode, replyTo, done };
    const b = this.#backlogs.get(env.to);
    if (b === undefined && this.#tryDeliver(w)) return;
    const backlog = b ?? new Backlog();
    if (b === undefined) this.#backlogs.set(env.to, backlog);
    backlog.items.push(w);
    this.#arm();
  }

  /** Stop feeding; whatever waits stays pending in the inbox for the next start. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#timer !== undefined) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#backlogs.clear();
  }

  /** Admit as much of `address`'s backlog as its mailbox has room for. */
  #pump(address: string): void {
    const b = this.#backlogs.get(address);
    if (b === undefined) return;
    while (b.head < b.items.length) {
      if (!this.#tryDeliver(b.items[b.head]!)) break;
      b.items[b.head++] = undefined as unknown as Waiting;
    }
    if (b.head === b.items.length) {
      this.#backlogs.delete(address);
    } else if (b.head >= 1024 && b.head * 2 >= b.items.length) {
      b.items = b.items.slice(b.head);
      b.head = 0;
    }
  }

  /**
   * Deliver `w` if its mailbox has room: true when the kernel took it (admitted, or refused
   * for good and dead-lettered), false when it must wait.
   */
  #tryDeliver(w: Waiting): boolean {
    const h = this.#host;
    if (h.isClosing) return false; // stopping actors are not gone for good: leave it pending
    const to = w.env.to;
    const ref = h.lookup(to);
    if (ref === undefined) {
      // No live actor: the kernel dead-letters it as not-found, a final answer.
      h.deliverLocal(w.env, w.replyTo, w.done);
      this.#onFinal?.(w.env, 'not-found', w.fromNode);
      return true;
    }
    // Half the actor's own mailbox at most: the other half stays free for its other traffic,
    // and the mailbox never overflows on our account (no spurious mailbox-full dead letter).
    const window = Math.max(1, Math.min(DURABLE_FEED_WINDOW, Math.floor((h.mailboxCapacity(ref) ?? 2) / 2)));
    if (h.mailboxDepth(ref) >= window) return false;
    // The kernel calls onHandled at once when it refuses a message; later when the actor
    // handled it. A refusal for a full mailbox (a capacity of 1, with other traffic in the
    // same turn) is "not yet": the envelope stays ours and its inbox entry pending.
    let sync = true;
    let refused = false;
    this.#delivering = to;
    this.#overflowed = false;
    try {
      h.deliverLocal(w.env, w.replyTo, () => {
        if (sync) {
          refused = true;
          return;
        }
        w.done();
        if (this.#backlogs.has(to)) this.#pump(to);
      });
    } finally {
      sync = false;
      this.#delivering = undefined;
    }
    if (!refused) return true;
    if (this.#overflowed) return false;
    w.done();
    this.#onFinal?.(w.env, 'invalid', w.fromNode);
    return true;
  }

  /** Look again soon while anything waits (one timer for the whole feed). */
  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#host.clock.setTimeout(() => {
      this.#timer = undefined;
      for (const address of [...this.#backlogs.keys()]) this.#pump(address);
      if (this.#backlogs.size > 0) this.#arm();
    }, DURABLE_FEED_RETRY_MS);
  }
}
