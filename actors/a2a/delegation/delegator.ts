import type { Logger } from 'pino';
import {
  TroupeError, childTraceparent, deserializeError, exponentialDelay, isTroupeError, newId, serializeError,
  type A2ACall, type A2ADelegate, type Clock, type Delegates, type DelegationOptions,
} from '../../../protocol/index.js';
import { UpstreamBreaker } from '../../agent/index.js';
import type { InspectionEvent } from '../../kernel/index.js';
import type { A2AClient } from './client.js';

/** A delegation step as the inspection stream carries it. */
export type DelegationEvent = Extract<InspectionEvent, { type: 'a2a.delegation' }>;

/** Failures that say a target is unwell or unreachable: they count towards its breaker. */
export const TRIPPING_CODES: ReadonlySet<string> = new Set([
  'TROUPE_ERR_A2A_DELEGATION_TIMEOUT', 'TROUPE_ERR_A2A_MESSAGE_EXPIRED', 'TROUPE_ERR_TRANSPORT_NODE_DOWN', 'TROUPE_ERR_TRANSPORT_QUEUE_FULL',
  'TROUPE_ERR_ACTOR_NOT_FOUND', 'TROUPE_ERR_ACTOR_STOPPED', 'TROUPE_ERR_ACTOR_FAILED', 'TROUPE_ERR_ACTOR_MAILBOX_FULL', 'TROUPE_ERR_ACTOR_ASK_TIMEOUT',
  'TROUPE_ERR_AGENT_NOT_FOUND', 'TROUPE_ERR_AGENT_STOPPED', 'TROUPE_ERR_AGENT_UNHEALTHY', 'TROUPE_ERR_AGENT_TIMEOUT',
  'TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT', 'TROUPE_ERR_MODEL_CIRCUIT_OPEN',
]);

/** Failures a retry may get past (the rest, like a refused cycle or a bad answer, would fail again). */
export const RETRIED_CODES: ReadonlySet<string> = new Set([
  'TROUPE_ERR_A2A_DELEGATION_TIMEOUT', 'TROUPE_ERR_A2A_MESSAGE_EXPIRED', 'TROUPE_ERR_TRANSPORT_NODE_DOWN', 'TROUPE_ERR_TRANSPORT_QUEUE_FULL',
  'TROUPE_ERR_ACTOR_NOT_FOUND', 'TROUPE_ERR_ACTOR_MAILBOX_FULL', 'TROUPE_ERR_ACTOR_ASK_TIMEOUT', 'TROUPE_ERR_AGENT_NOT_FOUND', 'TROUPE_ERR_AGENT_BUSY',
  'TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT', 'TROUPE_ERR_MODEL_RATE_LIMITED',
]);

/** Breakers kept (one per calling agent and target); the least recently used goes past it. */
const MAX_BREAKERS = 10_000;

/** What the delegator needs of its node. */
export interface DelegatorDeps {
  node: string;
  clock: Clock;
  log: Logger;
  client: A2AClient;
  /** Address answers come back to (this node's A2A endpoint). */
  replyTo: string;
  /** The node an agent lives on now (this one first), or undefined when no node runs it. */
  nodeOf(agent: string): Promise<string | undefined>;
  /** Nodes of the cluster that are up, this one excluded. */
  peers(): string[];
  /** Publish a step (inspection stream and log). */
  emit(event: DelegationEvent): void;
  random?: () => number;
}

/** One delegation a run asks for (the `delegate` tool's call). */
export interface DelegationRequest {
  caller: string;
  delegates: Delegates | undefined;
  options: DelegationOptions;
  target: string;
  task: string;
  conversationId?: string | undefined;
  /** The caller run's call chain, the caller last. */
  callChain: readonly string[];
  traceparent?: string | undefined;
  correlationId: string;
  parentRunId?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** What a delegation came to: the calls it made (the target's, then a fallback's) and the answer. */
export interface DelegationOutcome {
  calls: A2ACall[];
  /** The call that answered, when one did. */
  answered?: A2ACall;
  content: string | null;
}

/**
 * Agent-to-agent delegation with its resilience: checks (allowed target, no cycle, depth
 * limit), then for each attempt a DELEGATE through the target's circuit breaker (cockatiel,
 * on the injected clock; one breaker per calling agent and target), a per-attempt timeout,
 * retries with exponential backoff for failures that may pass, and, when the target fails
 * for good or its breaker is open, the caller's declared fallback agent. Every call is
 * recorded (status, duration, attempts, nested calls) for the run's trace.
 */
export class Delegator {
  private readonly breakers = new Map<string, UpstreamBreaker>();

  constructor(private readonly d: DelegatorDeps) {}

  /** Breakers open or half-open now. */
  openBreakers(): number {
    let n = 0;
    for (const b of this.breakers.values()) if (b.state !== 'closed') n++;
    return n;
  }

  /** The state of the breaker a caller has on a target (`closed` when it never called it). */
  breakerState(caller: string, target: string): 'closed' | 'open' | 'half-open' {
    return this.breakers.get(`${caller}>${target}`)?.state ?? 'closed';
  }

  async delegate(req: DelegationRequest): Promise<DelegationOutcome> {
    const refused = this.refusal(req, req.target);
    if (refused) {
      const call = this.record(req, req.target, this.d.clock.now(), 0, refused);
      return { calls: [call], content: null };
    }
    const first = await this.call(req, req.target);
    if (first.call.status === 'completed') return { calls: [first.call], answered: first.call, content: first.content };
    const fb = req.options.fallback;
    if (fb === undefined || fb === req.target || this.refusal(req, fb, true)) return { calls: [first.call], content: null };
    this.d.emit({ type: 'a2a.delegation', step: 'fallback', caller: req.caller, target: req.target, fallback: fb, code: first.call.error?.code });
    const second = await this.call(req, fb, req.target);
    return second.call.status === 'completed'
      ? { calls: [first.call, second.call], answered: second.call, content: second.content }
      : { calls: [first.call, second.call], content: null };
  }

  /** Why `target` may not be called from this run (a coded error), or undefined. */
  private refusal(req: DelegationRequest, target: string, asFallback = false): TroupeError | undefined {
    const allowed = asFallback || req.delegates === '*' || (req.delegates ?? []).includes(target);
    if (!allowed) return new TroupeError('TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED', `agent ${req.caller} may not delegate to ${target} (its delegates: ${req.delegates === undefined ? 'none' : (req.delegates as string[]).join(', ')})`);
    if (req.callChain.includes(target)) {
      return new TroupeError('TROUPE_ERR_A2A_DELEGATION_CYCLE', `delegating to ${target} would make a cycle: ${[...req.callChain, target].join(' -> ')}`, { details: { callChain: [...req.callChain, target] } });
    }
    if (req.callChain.length > req.options.maxDepth) {
      return new TroupeError('TROUPE_ERR_A2A_DELEGATION_DEPTH', `delegating to ${target} would nest ${req.callChain.length} deep; ${req.caller} allows ${req.options.maxDepth}`, { details: { maxDepth: req.options.maxDepth } });
    }
    return undefined;
  }

  /** One target, with retries through its breaker; never throws (the record says how it went). */
  private async call(req: DelegationRequest, target: string, fallbackFor?: string): Promise<{ call: A2ACall; content: string | null }> {
    const { options } = req;
    const startedAt = this.d.clock.now();
    const id = newId();
    const breaker = this.breaker(req, target);
    let attempts = 0;
    this.d.emit({ type: 'a2a.delegation', step: 'start', caller: req.caller, target, id, correlationId: req.correlationId });
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await breaker.execute(async () => {
          attempts++;
          return this.once(req, target, id, attempt);
        });
        const call: A2ACall = {
          id, target, node: r.node, status: 'completed', durationMs: this.d.clock.now() - startedAt, attempts,
          ...(fallbackFor !== undefined ? { fallbackFor } : {}), callChain: r.callChain, calls: r.calls,
        };
        this.d.emit({ type: 'a2a.delegation', step: 'complete', caller: req.caller, target, id, node: r.node, durationMs: call.durationMs, attempts });
        return { call, content: r.content };
      } catch (e) {
        const code = isTroupeError(e) ? e.code : 'TROUPE_ERR_ACTOR_FAILED';
        const last = attempt >= options.retries || !RETRIED_CODES.has(code) || req.signal?.aborted === true;
        this.d.emit({ type: 'a2a.delegation', step: 'failure', caller: req.caller, target, id, code, attempt, final: last });
        if (last) return { call: this.record(req, target, startedAt, attempts, e, id, fallbackFor), content: null };
        await this.sleep(exponentialDelay(attempt, { minMs: options.backoff.minMs, maxMs: Math.max(options.backoff.minMs, options.backoff.maxMs), randomFactor: 0.2 }, (this.d.random ?? Math.random)()), req.signal);
      }
    }
  }

  /** One attempt: find the target's node, send the DELEGATE durably, wait for the answer. */
  private async once(req: DelegationRequest, target: string, id: string, attempt: number): Promise<{ node: string; content: string | null; callChain: string[]; calls: A2ACall[] }> {
    const node = await this.d.nodeOf(target);
    if (node === undefined) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no node of the cluster runs an agent named ${target}`);
    if (node !== this.d.node && !this.d.peers().includes(node)) throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `node ${node} of agent ${target} is not up`, { details: { node } });
    const now = this.d.clock.now();
    const m: A2ADelegate = {
      type: 'a2a.delegate', id, from: req.caller, to: target, correlationId: req.correlationId, callChain: [...req.callChain],
      traceparent: childTraceparent(req.traceparent), createdAt: Math.floor(now), expiresAt: Math.floor(now + req.options.timeoutMs), replyTo: this.d.replyTo, attempt,
      payload: { input: req.task, ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}) },
      ...(req.parentRunId !== undefined ? { parentRunId: req.parentRunId } : {}),
    };
    const r = await this.d.client.task(node, m, req.options.timeoutMs);
    if (r.status === 'failed') throw deserializeError(r.error ?? { code: 'TROUPE_ERR_ACTOR_FAILED', message: `${target} failed without a reason` });
    return { node: r.node, content: r.content, callChain: r.callChain, calls: r.calls };
  }

  private record(req: DelegationRequest, target: string, startedAt: number, attempts: number, e: unknown, id = newId(), fallbackFor?: string): A2ACall {
    const error = serializeError(e);
    return {
      id, target, status: 'failed', durationMs: this.d.clock.now() - startedAt, attempts, error: { code: error.code, message: error.message },
      ...(fallbackFor !== undefined ? { fallbackFor } : {}), callChain: [...req.callChain, target], calls: [],
    };
  }

  private breaker(req: DelegationRequest, target: string): UpstreamBreaker {
    const key = `${req.caller}>${target}`;
    let b = this.breakers.get(key);
    if (b) this.breakers.delete(key);
    else {
      b = new UpstreamBreaker(this.d.clock, req.options.breaker, (state) => {
        this.d.log.warn({ caller: req.caller, target, breaker: state }, `circuit breaker on delegations to ${target} ${state}`);
        this.d.emit({ type: 'a2a.delegation', step: 'breaker', caller: req.caller, target, state });
      }, { trips: TRIPPING_CODES, openCode: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN', what: `delegations from ${req.caller} to ${target}` });
      if (this.breakers.size >= MAX_BREAKERS) this.breakers.delete(this.breakers.keys().next().value as string);
    }
    this.breakers.set(key, b);
    return b;
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const h = this.d.clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        this.d.clock.clearTimeout(h);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
