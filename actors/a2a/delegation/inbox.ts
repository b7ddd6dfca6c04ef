import type { Logger } from 'pino';
import {
  TroupeError, boundCalls, childTraceparent, isExpired, serializeError,
  type A2AContextAck, type A2AContextShare, type A2ADelegate, type A2AExecute, type A2AResult, type A2AStatus, type A2AStatusQuery, type Clock,
} from '../../../protocol/index.js';
import type { RunOptions, RunRequest, RunResult } from '../../agent/index.js';

/** Messages (EXECUTE, DELEGATE) whose outcome an inbox remembers, so a repeat is answered, not run. */
export const MAX_REMEMBERED = 10_000;
/** Shared contexts an inbox keeps (per agent and correlation id); the oldest go first. */
export const MAX_SHARED_CONTEXTS = 1_000;
/** Time a run of an EXECUTE or DELEGATE without `expiresAt` may take. */
const DEFAULT_RUN_TIMEOUT_MS = 600_000;

/**
 * What a CONTEXT_SHARE passes through before it is kept (the PII policy of the a2a issue
 * plugs in here): the context to keep, or a coded refusal.
 */
export type ContextFilter = (m: A2AContextShare) => { context: Record<string, unknown> } | { refused: TroupeError };

/** What the inbox needs of its node. */
export interface InboxDeps {
  node: string;
  clock: Clock;
  log: Logger;
  /** Runs an agent (through the gateway actor). */
  run(agent: string, req: RunRequest, opts: RunOptions): Promise<RunResult>;
  /** Tells an answer to an address (of any node). */
  tell(to: string, message: unknown): void;
  /** Tells a result durably (the LMDB outbox to another node): resolves once committed. */
  tellDurable(to: string, message: unknown): Promise<unknown>;
}

interface Remembered {
  state: 'running' | 'completed' | 'failed';
  /** The sender's attempt that started the run. */
  attempt: number;
  result?: A2AResult;
  /** Who waits for the answer: replyTo and the attempt it asked with. */
  waiters: Map<string, number>;
}

/**
 * The receiving side of agent-to-agent messages on one node. An EXECUTE or DELEGATE runs its
 * target agent once per message id: a repeat (a redelivery, or the sender's retry after a
 * timeout) joins the run in flight or gets the answer it already produced; only a later
 * attempt of one that failed runs again. An expired one is refused with
 * TROUPE_ERR_A2A_MESSAGE_EXPIRED and never run; one whose target is already in its call
 * chain is refused with TROUPE_ERR_A2A_DELEGATION_CYCLE. A STATUS_QUERY reads that memory;
 * a CONTEXT_SHARE is kept (after the context filter) for the target agent.
 */
export class A2AInbox {
  private readonly remembered = new Map<string, Remembered>();
  private readonly contexts = new Map<string, Record<string, unknown>>();
  /** Set by the PII policy (another module) when it starts; absent: contexts pass as they are. */
  contextFilter: ContextFilter | undefined;

  constructor(private readonly d: InboxDeps) {}

  /** EXECUTE or DELEGATE. */
  onTask(m: A2AExecute | A2ADelegate): void {
    const known = this.remembered.get(m.id);
    // a later attempt of a failed one is the sender's retry: it runs again (a repeat of the same attempt does not)
    if (known && !(known.state === 'failed' && m.attempt > known.attempt)) {
      if (known.result) this.answer(m.replyTo, { ...known.result, attempt: m.attempt });
      else known.waiters.set(m.replyTo, m.attempt);
      return;
    }
    const now = this.d.clock.now();
    if (isExpired(m, now)) {
      // not remembered: it was not run, and a later attempt of the same id may still be
      this.d.log.info({ id: m.id, to: m.to, from: m.from, expiresAt: m.expiresAt }, 'expired A2A message refused');
      this.answer(m.replyTo, this.failure(m, new TroupeError('TROUPE_ERR_A2A_MESSAGE_EXPIRED', `${m.type} ${m.id} to ${m.to} expired ${now - m.expiresAt!}ms before it arrived; not run`, { details: { expiresAt: m.expiresAt } }), 0));
      return;
    }
    const entry: Remembered = { state: 'running', attempt: m.attempt, waiters: new Map([[m.replyTo, m.attempt]]) };
    this.remember(m.id, entry);
    if (m.callChain.includes(m.to)) {
      this.settle(entry, this.failure(m, new TroupeError('TROUPE_ERR_A2A_DELEGATION_CYCLE', `${m.to} is already in the call chain ${m.callChain.join(' -> ')}`), 0));
      return;
    }
    const startedAt = now;
    const timeoutMs = m.expiresAt !== undefined ? Math.max(1, m.expiresAt - now) : DEFAULT_RUN_TIMEOUT_MS;
    const req: RunRequest = {
      input: [{ role: 'user', content: m.payload.input }],
      ...(m.payload.conversationId !== undefined ? { conversationId: m.payload.conversationId } : {}),
      a2a: { callChain: m.callChain, traceparent: childTraceparent(m.traceparent) },
    };
    this.d.run(m.to, req, { correlationId: m.correlationId, timeoutMs }).then(
      (r) => this.settle(entry, {
        type: 'a2a.result', inReplyTo: m.id, correlationId: m.correlationId, from: m.to, node: this.nodeOf(r),
        status: 'completed', content: r.content, callChain: r.trace.callChain ?? [...m.callChain, m.to],
        calls: boundCalls(r.trace.calls ?? []), durationMs: this.d.clock.now() - startedAt, attempt: m.attempt,
      }),
      (e: unknown) => this.settle(entry, this.failure(m, e, this.d.clock.now() - startedAt)),
    );
  }

  /** STATUS_QUERY: what became of a message id (answered to the asker, or told to replyTo). */
  onStatus(m: A2AStatusQuery, reply?: (v: unknown) => void): void {
    const known = this.remembered.get(m.payload.messageId);
    const status: A2AStatus = {
      type: 'a2a.status', inReplyTo: m.id, messageId: m.payload.messageId, state: known?.state ?? 'unknown',
      ...(known?.result ? { result: known.result } : {}),
    };
    if (reply) reply(status);
    else this.answer(m.replyTo, status);
  }

  /** CONTEXT_SHARE: kept for its target agent and correlation id, after the context filter. */
  onContext(m: A2AContextShare, reply?: (v: unknown) => void): void {
    let ack: A2AContextAck;
    const filtered = this.contextFilter ? this.contextFilter(m) : { context: m.payload.context };
    if ('refused' in filtered) {
      ack = { type: 'a2a.context_ack', inReplyTo: m.id, accepted: false, keys: [], error: filtered.refused.toJSON() };
    } else {
      const key = `${m.to}\u0000${m.correlationId}`;
      this.contexts.delete(key);
      if (this.contexts.size >= MAX_SHARED_CONTEXTS) this.contexts.delete(this.contexts.keys().next().value as string);
      this.contexts.set(key, filtered.context);
      ack = { type: 'a2a.context_ack', inReplyTo: m.id, accepted: true, keys: Object.keys(filtered.context).slice(0, 1_000) };
    }
    if (reply) reply(ack);
    else this.answer(m.replyTo, ack);
  }

  /** The context shared with an agent for a correlation id, if any. */
  sharedContext(agent: string, correlationId: string): Record<string, unknown> | undefined {
    return this.contexts.get(`${agent}\u0000${correlationId}`);
  }

  /** How many message ids are remembered (running or answered). */
  get size(): number {
    return this.remembered.size;
  }

  private nodeOf(r: RunResult): string {
    return r.trace.chain.find((h) => h.kind === 'agent')?.node ?? this.d.node;
  }

  private failure(m: A2AExecute | A2ADelegate, e: unknown, durationMs: number): A2AResult {
    return {
      type: 'a2a.result', inReplyTo: m.id, correlationId: m.correlationId, from: m.to, node: this.d.node, status: 'failed', content: null,
      error: serializeError(e), callChain: [...m.callChain, m.to], calls: [], durationMs, attempt: m.attempt,
    };
  }

  private settle(entry: Remembered, result: A2AResult): void {
    entry.state = result.status;
    entry.result = result;
    // results travel durably, like the requests: a cut link delays them, never loses them
    for (const [to, attempt] of entry.waiters) this.answer(to, { ...result, attempt }, true);
    entry.waiters.clear();
  }

  private remember(id: string, entry: Remembered): void {
    this.remembered.delete(id);
    if (this.remembered.size >= MAX_REMEMBERED) {
      // the oldest answered one goes; runs in flight stay (they are bounded by the agents' queues)
      for (const [k, v] of this.remembered) {
        if (v.state !== 'running') {
          this.remembered.delete(k);
          break;
        }
      }
    }
    this.remembered.set(id, entry);
  }

  private answer(to: string, message: unknown, durable = false): void {
    const failed = (e: unknown): void => {
      // the sender is gone or unreachable: its own timeout ends its wait, and a retry is answered from memory
      this.d.log.warn({ err: e, to }, 'could not tell an A2A answer');
    };
    if (durable) {
      this.d.tellDurable(to, message).catch(failed);
      return;
    }
    try {
      this.d.tell(to, message);
    } catch (e) {
      failed(e);
    }
  }
}
