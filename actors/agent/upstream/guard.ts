import type { Logger } from 'pino';
import { TroupeError, isTroupeError, type Clock, type ModelResult } from '../../../protocol/index.js';
import type { AgentEvent } from '../events.js';
import { RunAbort, type CompleteOptions, type ModelProvider, type ModelRequest } from '../model/index.js';
import { UpstreamBreaker, targetBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import { TokenBudget, type AgentBudget, type BudgetUsage } from './budget.js';
import { applyFault, clockWait, upstreamFaultSchema, verboseAnswer, verboseApplies, type UpstreamFault, type UpstreamFaultInput } from './fault.js';

/** Abort reason of calls cut by the kill switch. */
const KILL_REASON = 'troupe:killswitch';
/** Called targets one agent keeps a breaker for (least recently used dropped first). */
const MAX_TARGET_BREAKERS = 256;
/** Retries of a call after an injected 429 (the openai provider's default retry budget). */
const INJECTED_RETRIES = 3;

/** How an agent treats its upstream (spec field `upstream`). */
export interface UpstreamOptions {
  breaker: BreakerOptions;
  /** A 429 asking for a longer wait fails the run at once (TROUPE_ERR_MODEL_RATE_LIMITED) instead of pausing it. */
  maxPauseMs: number;
  /** The pause after a 429 that named no wait. */
  defaultPauseMs: number;
}

/** The guard's state, for GET /api/v1/agents/:name (`upstream`) and /metrics. */
export interface UpstreamState {
  breaker: { state: BreakerState; openedAt?: number };
  /** Breakers on the targets the agent's tools call (other agents, actors), by address. */
  targets: Record<string, { state: BreakerState; openedAt?: number }>;
  /** Set while upstream calls are paused after a 429 (clock ms). */
  pausedUntil?: number;
  budget: BudgetUsage;
  killswitch?: { reason: string; at: number };
  fault?: { mode: UpstreamFault['mode']; until: number };
}

/**
 * An agent's model calls as the agent makes them: LLM-aware supervision in one place,
 * outside the actor, so it outlives a restart. A 429 pauses every call of the agent until
 * its Retry-After, as soon as the provider sees it (the provider retries the call itself
 * within its budget; the agent's other and queued runs wait; nothing crashes, so restart
 * intensity is untouched); a
 * 401/403 becomes TROUPE_ERR_MODEL_AUTH (the agent stops: no restart loop); 5xx and timeouts
 * go through a cockatiel circuit breaker on the injected clock (open: fail fast with
 * TROUPE_ERR_MODEL_CIRCUIT_OPEN); tokens are counted against the agent's budget; the kill
 * switch aborts calls in flight and refuses new ones; drills inject upstream faults here.
 *
 * @example
 * const guard = new UpstreamGuard('helper', provider, clock, options, budget, log, (e) => events.emit(e));
 * const result = await guard.complete(req, { signal });
 */
export class UpstreamGuard implements ModelProvider {
  /** The breaker on the model path, made on the first model call (until then it is closed). */
  private breaker: UpstreamBreaker | undefined;
  private readonly budget: TokenBudget;
  /** Model calls in flight (made on the first call). */
  private inflight: Set<RunAbort> | undefined;
  /** Breakers of the targets the agent calls (made on the first call to one). */
  private targets: Map<string, UpstreamBreaker> | undefined;
  private pausedUntil = 0;
  private halted: { reason: string; at: number } | undefined;
  private fault: UpstreamFault | undefined;

  constructor(
    private readonly agent: string,
    private readonly provider: ModelProvider,
    private readonly clock: Clock,
    private readonly options: UpstreamOptions,
    budget: AgentBudget,
    private readonly log: Logger,
    private readonly emit: (e: AgentEvent) => void,
  ) {
    this.budget = new TokenBudget(budget);
  }

  // read from the provider, not copied: three fields fewer in each agent's guard
  get name(): string {
    return this.provider.name;
  }
  get offline(): boolean {
    return this.provider.offline;
  }
  get defaultModel(): string {
    return this.provider.defaultModel;
  }

  private modelBreaker(): UpstreamBreaker {
    return (this.breaker ??= new UpstreamBreaker(this.clock, this.options.breaker, (state) => {
      this.log.warn({ agent: this.agent, breaker: state }, `upstream circuit breaker ${state}`);
      this.emit({ type: 'agent.breaker', agent: this.agent, state });
    }));
  }

  /** Why a new run must be refused now (kill switch, budget), or undefined. */
  refusal(): TroupeError | undefined {
    if (this.halted) return this.killed();
    // an agent without limits has nothing to refuse (and no clock read per run)
    if (!this.budget.limited) return undefined;
    const r = this.budget.refusal(this.agent, this.clock.now());
    if (r) this.emit({ type: 'agent.budget.exceeded', agent: this.agent, retryAfterMs: Number(r.details?.['retryAfterMs'] ?? 0) });
    return r;
  }

  state(): UpstreamState {
    const now = this.clock.now();
    const since = this.breaker?.since;
    return {
      breaker: { state: this.breaker?.state ?? 'closed', ...(since !== undefined ? { openedAt: since } : {}) },
      targets: Object.fromEntries([...(this.targets ?? [])].map(([t, b]) => [t, { state: b.state, ...(b.since !== undefined ? { openedAt: b.since } : {}) }])),
      ...(this.pausedUntil > now ? { pausedUntil: this.pausedUntil } : {}),
      budget: this.budget.usage(now),
      ...(this.halted ? { killswitch: { ...this.halted } } : {}),
      ...(this.fault && this.fault.until > now ? { fault: { mode: this.fault.mode, until: this.fault.until } } : {}),
    };
  }

  /**
   * Call another agent or actor through its breaker (one per target): past
   * `upstream.breaker.failures` consecutive failures (timeouts, crashes, a node down) calls
   * to it fail fast with TROUPE_ERR_AGENT_CIRCUIT_OPEN until a half-open probe succeeds.
   */
  callTarget<T>(target: string, fn: () => Promise<T>): Promise<T> {
    const targets = (this.targets ??= new Map());
    let b = targets.get(target);
    if (b) targets.delete(target);
    else {
      b = new UpstreamBreaker(this.clock, this.options.breaker, (state) => {
        this.log.warn({ agent: this.agent, target, breaker: state }, `circuit breaker on a called target ${state}`);
        this.emit({ type: 'agent.breaker', agent: this.agent, state, target });
      }, targetBreaker(target));
      if (targets.size >= MAX_TARGET_BREAKERS) targets.delete(targets.keys().next().value as string);
    }
    targets.set(target, b);
    return b.execute(fn);
  }

  /** Engage the kill switch: calls in flight are aborted now, new ones refused. Returns how many were aborted. */
  halt(reason: string): number {
    this.halted = { reason, at: this.clock.now() };
    const n = this.inflight?.size ?? 0;
    for (const c of [...(this.inflight ?? [])]) c.abort(KILL_REASON);
    this.emit({ type: 'agent.halted', agent: this.agent, reason });
    return n;
  }

  /** Release the kill switch. */
  release(): void {
    if (!this.halted) return;
    this.halted = undefined;
    this.emit({ type: 'agent.released', agent: this.agent });
  }

  /** Inject an upstream fault (the `upstream` drill) until `fault.until`; returns the function that ends it. */
  inject(input: UpstreamFaultInput): () => void {
    const fault = upstreamFaultSchema.parse(input);
    this.fault = fault;
    return () => {
      if (this.fault === fault) this.fault = undefined;
    };
  }

  async complete(req: ModelRequest, opts: CompleteOptions = {}): Promise<ModelResult> {
    const outer = opts.signal;
    const call = new RunAbort();
    const follow = (): void => call.abort(outer?.reason);
    if (outer?.aborted) call.abort(outer.reason);
    else outer?.addEventListener('abort', follow, { once: true });
    (this.inflight ??= new Set()).add(call);
    const onRateLimited = (ms: number): void => {
      this.pause(ms);
      opts.onRateLimited?.(ms);
    };
    try {
      for (let retries = 0; ; retries++) {
        if (this.halted) throw this.killed();
        try {
          // only a paused agent waits (an async call and its await on every model call otherwise)
          if (this.pausedUntil !== 0 && this.pausedUntil > this.clock.now()) await this.waitOutPause(call);
          let fault = this.fault !== undefined && this.fault.until > this.clock.now() ? this.fault : undefined;
          if (fault?.mode === 'verbose') {
            // the slow-client drill's fast writer: no upstream call, no tokens counted against the budget
            if (verboseApplies(fault, req)) return await verboseAnswer(fault, req.model, opts, call);
            fault = undefined;
          }
          const callOpts: CompleteOptions = { ...opts, signal: call, onRateLimited };
          const result = await this.modelBreaker().execute(fault === undefined
            ? () => this.provider.complete(req, callOpts)
            : async () => {
              await applyFault(fault, this.clock, call);
              return this.provider.complete(req, callOpts);
            });
          this.budget.record(result.usage, this.clock.now());
          return result;
        } catch (e) {
          if (call.reason === KILL_REASON) throw this.killed(e);
          if (isTroupeError(e, 'TROUPE_ERR_MODEL_RATE_LIMITED')) {
            // the provider honoured Retry-After within its retry budget and gave up: the run
            // fails, the agent's other calls wait out the pause
            const wait = Number(e.details?.['retryAfterMs'] ?? this.options.defaultPauseMs);
            this.pause(wait);
            // an injected 429 stands for the upstream's: retried as the provider retries a real one
            if (e.details?.['injected'] === true && retries < INJECTED_RETRIES && wait <= this.options.maxPauseMs) continue;
          }
          if (isTroupeError(e, 'TROUPE_ERR_MODEL_UPSTREAM') && (e.details?.['status'] === 401 || e.details?.['status'] === 403)) {
            throw new TroupeError('TROUPE_ERR_MODEL_AUTH', `the upstream model refused agent ${this.agent}'s credentials (HTTP ${String(e.details['status'])}); the agent stops until its credentials are fixed`, {
              details: { status: e.details['status'] },
            });
          }
          throw e;
        }
      }
    } finally {
      this.inflight?.delete(call);
      outer?.removeEventListener('abort', follow);
    }
  }

  /** Pause every call of the agent for `ms` from now (a later end wins). */
  private pause(ms: number): void {
    const until = this.clock.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.log.warn({ agent: this.agent, retryAfterMs: ms }, 'upstream rate-limited the agent; its model calls pause');
    this.emit({ type: 'agent.upstream.paused', agent: this.agent, until, retryAfterMs: ms });
  }

  private async waitOutPause(call: RunAbort): Promise<void> {
    for (;;) {
      const left = this.pausedUntil - this.clock.now();
      if (left <= 0) return;
      if (left > this.options.maxPauseMs) {
        throw new TroupeError('TROUPE_ERR_MODEL_RATE_LIMITED', `upstream model calls of agent ${this.agent} are paused for ${left}ms more (rate-limited)`, {
          details: { retryAfterMs: left },
        });
      }
      if (!(await clockWait(this.clock, left, call))) throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled while the agent was paused');
    }
  }

  private killed(cause?: unknown): TroupeError {
    return new TroupeError('TROUPE_ERR_KILLSWITCH_ENGAGED', `the kill switch is engaged for agent ${this.agent}: ${this.halted?.reason ?? 'engaged'}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { agent: this.agent },
    });
  }
}
