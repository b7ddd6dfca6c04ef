import type { Logger } from 'pino';
import { z } from 'zod';
import {
  TroupeError, a2aMessageSchema, parseAddress, a2aResultSchema, boundCalls, childTraceparent, isExpired, serializeError,
  type A2AContextAck, type A2AContextShare, type A2ADelegate, type A2AExecute, type A2AMessage, type A2AResult, type A2AStatus, type A2AStatusQuery, type Clock,
} from '../../../protocol/index.js';
import type { RunOptions, RunRequest, RunResult } from '../../agent/index.js';
import type { Behaviour, Context } from '../../kernel/index.js';
import { instancesOr } from '../../kernel/index.js';

/** EXECUTEs and DELEGATEs whose outcome the endpoint remembers (journaled), so a repeat is answered, not run. */
export const MAX_REMEMBERED = 2_000;
/** Shared contexts an inbox keeps (per agent and correlation id); the oldest go first. */
export const MAX_SHARED_CONTEXTS = 1_000;
/** Largest shared context kept (characters of its JSON); a larger one is refused. */
export const MAX_SHARED_CONTEXT_CHARS = 256 * 1024;
/** Characters of JSON all shared contexts of an inbox hold at most; the oldest go first. */
export const MAX_SHARED_CONTEXTS_CHARS = 32 * 1024 * 1024;
/** Further senders one running message id answers at most (repeats from other replyTo addresses). */
export const MAX_WAITERS = 64;
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
  /**
   * The path of every node's A2A endpoint: a request's `replyTo` must name one, so answers
   * never go to an actor a peer picks (unset: any address).
   */
  endpointPath?: string;
  /** Records what became of an EXECUTE or DELEGATE in the audit chain (RACI: A2A Protocol / AOA), when the node has one. */
  audit?(record: A2AAuditRecord): void;
}

/** An audit record of an EXECUTE or DELEGATE (the audit module's `record` input). */
export interface A2AAuditRecord {
  action: 'A2A_EXECUTE' | 'A2A_DELEGATE';
  actor: string;
  target: string;
  agent: string;
  correlationId: string;
  outcome: 'ok' | 'error' | 'refused';
  payload: unknown;
  details: Record<string, string | number>;
}

/** One remembered EXECUTE or DELEGATE, as journaled. */
const rememberedSchema = z.object({
  state: z.enum(['running', 'completed', 'failed']),
  /** The sender's attempt that started the run. */
  attempt: z.number().int(),
  replyTo: z.string(),
  to: z.string(),
  correlationId: z.string(),
  /** Never run again, whatever the attempt (interrupted by a crash: it may have done part of its work). */
  final: z.boolean().optional(),
  result: a2aResultSchema.optional(),
});
type Remembered = z.infer<typeof rememberedSchema>;

/** The endpoint's journaled events (checked on replay). */
const inboxEventSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('accepted'), id: z.string(), attempt: z.number().int(), replyTo: z.string(), to: z.string(), correlationId: z.string() }),
  z.object({ t: z.literal('settled'), id: z.string(), result: a2aResultSchema, final: z.boolean().optional() }),
]);
type InboxEvent = z.infer<typeof inboxEventSchema>;

/** The endpoint's state: remembered messages by id, oldest first. */
export interface InboxState {
  byId: Record<string, Remembered>;
}

/** The messages that ask for an answer told to their `replyTo`. */
const REQUESTS = new Set<string>(['a2a.execute', 'a2a.delegate', 'a2a.status_query', 'a2a.context_share']);
const isRequest = (m: A2AMessage): m is A2AExecute | A2ADelegate | A2AStatusQuery | A2AContextShare => REQUESTS.has(m.type);

/** A run of this incarnation ended (made only here: no other actor can send it). */
class Settled {
  readonly type = 'a2a.settled' as const;
  constructor(readonly id: string, readonly result: A2AResult, readonly incarnation: object) {}
}

type InboxMessage = A2AMessage | Settled;

const INBOX_INSTANCES = [Settled] as const;
const inboxMessageSchema: z.ZodType<InboxMessage> = instancesOr(INBOX_INSTANCES, a2aMessageSchema);

/** Characters of a value's JSON (a value that has none counts as nothing). */
function jsonChars(v: unknown): number {
  try {
    return JSON.stringify(v)?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** What is remembered of a message id (ids are the sender's: own keys only, never Object.prototype's). */
function rememberedOf(s: InboxState, id: string): Remembered | undefined {
  return Object.hasOwn(s.byId, id) ? s.byId[id] : undefined;
}

function apply(s: InboxState, raw: InboxEvent): InboxState {
  const e = inboxEventSchema.parse(raw);
  if (e.t === 'accepted') {
    delete s.byId[e.id];
    const ids = Object.keys(s.byId);
    if (ids.length >= MAX_REMEMBERED) {
      // the oldest answered one goes; runs in flight stay (they are bounded by the agents' queues)
      const old = ids.find((k) => s.byId[k]!.state !== 'running');
      if (old !== undefined) delete s.byId[old];
    }
    // defined, not assigned: an id named __proto__ is a key like any other
    Object.defineProperty(s.byId, e.id, { value: { state: 'running', attempt: e.attempt, replyTo: e.replyTo, to: e.to, correlationId: e.correlationId }, enumerable: true, writable: true, configurable: true });
    return s;
  }
  const rec = rememberedOf(s, e.id);
  if (rec) {
    rec.state = e.result.status;
    rec.result = e.result;
    if (e.final) rec.final = true;
  }
  return s;
}

/**
 * The receiving side of agent-to-agent messages on one node, as the behaviour of its
 * endpoint actor. An EXECUTE or DELEGATE runs its target agent once per message id: its
 * acceptance is journaled (in the same commit that marks a durable message done) and so is
 * its outcome, so a repeat (a redelivery, or the sender's retry after a timeout) joins the
 * run in flight or gets the answer it already produced, after a restart too; only a later
 * attempt of one that failed runs again. A run that a crash or kill -9 interrupted is failed
 * with TROUPE_ERR_A2A_TASK_INTERRUPTED when the node comes back, told to its sender, and
 * never run again. An expired message is refused with TROUPE_ERR_A2A_MESSAGE_EXPIRED and
 * never run; one whose target is already in its call chain with TROUPE_ERR_A2A_DELEGATION_CYCLE.
 * A STATUS_QUERY reads that memory; a CONTEXT_SHARE is kept (after the context filter) for
 * the target agent. Answers (the sender's endpoint gets them) travel durably.
 */
export class A2AInbox {
  private readonly contexts = new Map<string, { context: Record<string, unknown>; chars: number }>();
  /** Characters of JSON the kept contexts hold. */
  private contextChars = 0;
  /** Further senders waiting for a run of this incarnation (the journaled replyTo excepted). */
  private waiters = new Map<string, Map<string, number>>();
  /** This incarnation's identity: results of an earlier one's runs are ignored. */
  private incarnation: object = {};
  private current: InboxState = { byId: {} };
  /** Set by the PII policy (another module) when it starts; absent: contexts pass as they are. */
  contextFilter: ContextFilter | undefined;

  constructor(private readonly d: InboxDeps) {}

  /** The endpoint actor's behaviour (persistent under `key`). */
  behaviour(key: string): Behaviour<InboxState, InboxMessage, InboxEvent> {
    return {
      messages: inboxMessageSchema,
      instances: INBOX_INSTANCES,
      initial: () => {
        this.incarnation = {};
        this.waiters = new Map();
        this.current = { byId: {} };
        return this.current;
      },
      persistence: { key, apply: (s, e) => (this.current = apply(s, e)), snapshotEvery: 500 },
      receive: (s, m, ctx) => {
        this.current = s;
        if (m instanceof Settled) {
          this.onSettled(s, m, ctx);
          return;
        }
        const reply = ctx.expectsReply ? (v: unknown) => ctx.reply(v) : undefined;
        if (isRequest(m) && this.d.endpointPath !== undefined && parseAddress(m.replyTo)?.path !== this.d.endpointPath) {
          // answered nowhere: a peer may not have this node tell (durably) to an actor of its choice
          this.d.log.warn({ id: m.id, type: m.type, from: m.from }, 'A2A request whose replyTo is not an A2A endpoint refused');
          if (ctx.expectsReply) ctx.replyError(new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `${m.type} ${m.id.slice(0, 64)}: replyTo must be the A2A endpoint of a node (troupe://<node>/${this.d.endpointPath})`));
          return;
        }
        switch (m.type) {
          case 'a2a.execute':
          case 'a2a.delegate':
            this.onTask(s, m, ctx);
            reply?.({ accepted: true, id: m.id });
            return;
          case 'a2a.status_query':
            this.onStatus(s, m, reply);
            return;
          case 'a2a.context_share':
            this.onContext(m, reply);
            return;
          default:
            this.onReply?.(m);
        }
      },
      signal: (s, sig, ctx) => {
        if (sig.type !== 'signal.started') return;
        this.current = s;
        // runs of an earlier incarnation (a crash, a kill -9) are over: fail them truthfully, never run them again
        for (const [id, rec] of Object.entries(s.byId)) {
          if (rec.state !== 'running') continue;
          const result: A2AResult = {
            type: 'a2a.result', inReplyTo: id, correlationId: rec.correlationId, from: rec.to, node: this.d.node, status: 'failed', content: null,
            error: new TroupeError('TROUPE_ERR_A2A_TASK_INTERRUPTED', `the run of ${id} was interrupted when this node stopped; it is not run again`).toJSON(),
            callChain: [rec.to], calls: [], durationMs: 0, attempt: rec.attempt,
          };
          void ctx.persist({ t: 'settled', id, result, final: true } satisfies InboxEvent).then(() => this.answer(rec.replyTo, result, true), () => undefined);
        }
      },
    };
  }

  /** Answers to this node's own requests (the client takes them). */
  onReply: ((m: Exclude<A2AMessage, { type: 'a2a.execute' | 'a2a.delegate' | 'a2a.status_query' | 'a2a.context_share' }>) => void) | undefined;

  /** The context shared with an agent for a correlation id, if any. */
  sharedContext(agent: string, correlationId: string): Record<string, unknown> | undefined {
    return this.contexts.get(`${agent}\u0000${correlationId}`)?.context;
  }

  /** How many message ids are remembered (running or answered). */
  get size(): number {
    return Object.keys(this.current.byId).length;
  }

  private onTask(s: InboxState, m: A2AExecute | A2ADelegate, ctx: Context<InboxMessage>): void {
    const known = rememberedOf(s, m.id);
    // a later attempt of a failed one is the sender's retry: it runs again (a repeat of the same attempt does not)
    if (known && (known.final === true || !(known.state === 'failed' && m.attempt > known.attempt))) {
      if (known.result) this.answer(m.replyTo, { ...known.result, attempt: m.attempt });
      else if (m.replyTo !== known.replyTo) {
        const w = this.waiters.get(m.id) ?? new Map<string, number>();
        // bounded: a flood of repeats from ever new addresses does not grow the answer list
        if (w.has(m.replyTo) || w.size < MAX_WAITERS) w.set(m.replyTo, m.attempt);
        else this.d.log.warn({ id: m.id, max: MAX_WAITERS }, 'too many senders wait for one A2A message; a repeat was not added');
        this.waiters.set(m.id, w);
      }
      return;
    }
    const now = this.d.clock.now();
    if (isExpired(m, now)) {
      // not remembered: it was not run, and a later attempt of the same id may still be
      this.d.log.info({ id: m.id, to: m.to, from: m.from, expiresAt: m.expiresAt }, 'expired A2A message refused');
      this.audited(m, 'refused', 'TROUPE_ERR_A2A_MESSAGE_EXPIRED');
      this.answer(m.replyTo, this.failure(m, new TroupeError('TROUPE_ERR_A2A_MESSAGE_EXPIRED', `${m.type} ${m.id} to ${m.to} expired ${now - m.expiresAt!}ms before it arrived; not run`, { details: { expiresAt: m.expiresAt } }), 0));
      return;
    }
    this.waiters.delete(m.id);
    // the commit of the acceptance also marks a durable message done: taken exactly once
    void ctx.persist({ t: 'accepted', id: m.id, attempt: m.attempt, replyTo: m.replyTo, to: m.to, correlationId: m.correlationId } satisfies InboxEvent).catch(() => undefined);
    const inc = this.incarnation;
    if (m.callChain.includes(m.to)) {
      this.audited(m, 'refused', 'TROUPE_ERR_A2A_DELEGATION_CYCLE');
      ctx.tell(ctx.self, new Settled(m.id, this.failure(m, new TroupeError('TROUPE_ERR_A2A_DELEGATION_CYCLE', `${m.to} is already in the call chain ${m.callChain.join(' -> ')}`), 0), inc));
      return;
    }
    const timeoutMs = m.expiresAt !== undefined ? Math.max(1, m.expiresAt - now) : DEFAULT_RUN_TIMEOUT_MS;
    const req: RunRequest = {
      input: [{ role: 'user', content: m.payload.input }],
      ...(m.payload.conversationId !== undefined ? { conversationId: m.payload.conversationId } : {}),
      a2a: { callChain: m.callChain, traceparent: childTraceparent(m.traceparent) },
    };
    const run = this.d.run(m.to, req, { correlationId: m.correlationId, timeoutMs });
    run.then(() => this.audited(m, 'ok'), (e: unknown) => this.audited(m, 'error', serializeError(e).code));
    ctx.pipeToSelf(
      run,
      (r) => new Settled(m.id, {
        type: 'a2a.result', inReplyTo: m.id, correlationId: m.correlationId, from: m.to, node: this.nodeOf(r),
        status: 'completed', content: r.content, callChain: r.trace.callChain ?? [...m.callChain, m.to],
        calls: boundCalls(r.trace.calls ?? []), durationMs: this.d.clock.now() - now, attempt: m.attempt,
      }, inc),
      (e: unknown) => new Settled(m.id, this.failure(m, e, this.d.clock.now() - now), inc),
    );
  }

  private onSettled(s: InboxState, m: Settled, ctx: Context<InboxMessage>): void {
    if (m.incarnation !== this.incarnation) return; // an earlier incarnation's run: failed as interrupted on start
    const rec = rememberedOf(s, m.id);
    if (!rec || rec.state !== 'running') return;
    const waiting = this.waiters.get(m.id);
    this.waiters.delete(m.id);
    const to = new Map<string, number>([[rec.replyTo, rec.attempt], ...(waiting ?? [])]);
    // answered once the outcome is durable: a repeat after a crash gets the same answer
    ctx.persist({ t: 'settled', id: m.id, result: m.result } satisfies InboxEvent).then(
      () => {
        for (const [replyTo, attempt] of to) this.answer(replyTo, { ...m.result, attempt }, true);
      },
      () => undefined,
    );
  }

  private onStatus(s: InboxState, m: A2AStatusQuery, reply?: (v: unknown) => void): void {
    const known = rememberedOf(s, m.payload.messageId);
    const status: A2AStatus = {
      type: 'a2a.status', inReplyTo: m.id, messageId: m.payload.messageId, state: known?.state ?? 'unknown',
      ...(known?.result ? { result: known.result } : {}),
    };
    if (reply) reply(status);
    else this.answer(m.replyTo, status);
  }

  private onContext(m: A2AContextShare, reply?: (v: unknown) => void): void {
    let ack: A2AContextAck;
    const size = jsonChars(m.payload.context);
    const filtered = size > MAX_SHARED_CONTEXT_CHARS
      ? { refused: new TroupeError('TROUPE_ERR_A2A_CONTEXT_TOO_LARGE', `the context shared with ${m.to} is over ${MAX_SHARED_CONTEXT_CHARS} characters of JSON; nothing was kept`, { details: { limit: MAX_SHARED_CONTEXT_CHARS } }) }
      : this.contextFilter ? this.contextFilter(m) : { context: m.payload.context };
    if ('refused' in filtered) {
      ack = { type: 'a2a.context_ack', inReplyTo: m.id, accepted: false, keys: [], error: filtered.refused.toJSON() };
    } else {
      const key = `${m.to}\u0000${m.correlationId}`;
      this.dropContext(key);
      const chars = filtered.context === m.payload.context ? size : jsonChars(filtered.context);
      // bounded in count and in size: the oldest go first
      while (this.contexts.size > 0 && (this.contexts.size >= MAX_SHARED_CONTEXTS || this.contextChars + chars > MAX_SHARED_CONTEXTS_CHARS)) {
        this.dropContext(this.contexts.keys().next().value as string);
      }
      this.contexts.set(key, { context: filtered.context, chars });
      this.contextChars += chars;
      ack = { type: 'a2a.context_ack', inReplyTo: m.id, accepted: true, keys: Object.keys(filtered.context).slice(0, 1_000) };
    }
    if (reply) reply(ack);
    else this.answer(m.replyTo, ack);
  }

  private dropContext(key: string): void {
    const kept = this.contexts.get(key);
    if (!kept) return;
    this.contexts.delete(key);
    this.contextChars -= kept.chars;
  }

  private audited(m: A2AExecute | A2ADelegate, outcome: A2AAuditRecord['outcome'], code?: string): void {
    this.d.audit?.({
      action: m.type === 'a2a.execute' ? 'A2A_EXECUTE' : 'A2A_DELEGATE', actor: m.from, target: m.to, agent: m.to, correlationId: m.correlationId, outcome,
      // the task text is digested, never copied into the log
      payload: m.payload, details: { message_id: m.id, call_depth: m.callChain.length, ...(code !== undefined ? { code } : {}) },
    });
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
