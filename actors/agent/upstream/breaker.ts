import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy, type IBackoff, type IBackoffFactory } from 'cockatiel';
import { TroupeError, isTroupeError, type Clock } from '../../../protocol/index.js';

/** A breaker's state as `GET /api/v1/agents/:name` and /metrics show it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What a breaker guards: which failures trip it, and the code it fails fast with. */
export interface BreakerKind {
  trips: ReadonlySet<string>;
  openCode: 'TROUPE_ERR_MODEL_CIRCUIT_OPEN' | 'TROUPE_ERR_AGENT_CIRCUIT_OPEN';
  what: string;
}

/** The model path: failures that say the upstream is unwell (a 429, a bad request or a cancel do not). */
export const MODEL_BREAKER: BreakerKind = {
  trips: new Set(['TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT']),
  openCode: 'TROUPE_ERR_MODEL_CIRCUIT_OPEN',
  what: 'the upstream model',
};

/** A target an agent calls (another agent or actor, local or remote): failures that say it is unwell or unreachable. */
export function targetBreaker(target: string): BreakerKind {
  return {
    trips: new Set([
      'TROUPE_ERR_ACTOR_ASK_TIMEOUT', 'TROUPE_ERR_ACTOR_FAILED', 'TROUPE_ERR_ACTOR_STOPPED', 'TROUPE_ERR_ACTOR_NOT_FOUND',
      'TROUPE_ERR_TRANSPORT_NODE_DOWN', 'TROUPE_ERR_TRANSPORT_QUEUE_FULL', 'TROUPE_ERR_AGENT_STOPPED', 'TROUPE_ERR_AGENT_UNHEALTHY',
      'TROUPE_ERR_MODEL_UPSTREAM', 'TROUPE_ERR_MODEL_TIMEOUT', 'TROUPE_ERR_MODEL_CIRCUIT_OPEN',
    ]),
    openCode: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN',
    what: `the called target ${target.slice(0, 200)}`,
  };
}

/**
 * cockatiel decides "still open?" with `Date.now() - openedAt < backoff.duration`, reading
 * `duration` at every call. This backoff answers from the injected clock instead: an
 * infinite duration while the clock says the breaker must stay open, a negative infinite
 * one once `halfOpenAfterMs` have passed on it. So cockatiel keeps its state machine
 * (closed, open, half-open probing, close) and time comes from host.clock.
 */
class ClockBackoff<T> implements IBackoff<T> {
  constructor(private readonly clock: Clock, private readonly openedAt: number, private readonly afterMs: number, private readonly opened: (at: number) => void) {
    opened(openedAt);
  }

  get duration(): number {
    return this.clock.now() - this.openedAt >= this.afterMs ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }

  /** A failed half-open probe opens the breaker again for the same time, from now. */
  next(): IBackoff<T> {
    return new ClockBackoff<T>(this.clock, this.clock.now(), this.afterMs, this.opened);
  }
}

/** Options of one upstream breaker. */
export interface BreakerOptions {
  /** Consecutive tripping failures that open it. */
  failures: number;
  /** Time open (on the clock) before one probe call is let through (half-open). */
  halfOpenAfterMs: number;
}

/**
 * A circuit breaker on an agent's model calls: cockatiel's (consecutive failures, then open,
 * then a single half-open probe that closes or re-opens it), on the injected clock. Open, it
 * fails fast with TROUPE_ERR_MODEL_CIRCUIT_OPEN.
 *
 * @example
 * const b = new UpstreamBreaker(clock, { failures: 5, halfOpenAfterMs: 30_000 }, (s) => log(s));
 * const result = await b.execute(() => provider.complete(req, opts));
 */
export class UpstreamBreaker {
  /** cockatiel's breaker, made on the first call (a breaker never called is closed and holds nothing). */
  private policy: CircuitBreakerPolicy | undefined;
  private openedAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly options: BreakerOptions,
    private readonly onChange: (state: BreakerState) => void,
    private readonly kind: BreakerKind = MODEL_BREAKER,
  ) {}

  private made(): CircuitBreakerPolicy {
    if (this.policy !== undefined) return this.policy;
    const { clock, options, kind } = this;
    const factory: IBackoffFactory<unknown> = {
      next: () => new ClockBackoff(clock, clock.now(), options.halfOpenAfterMs, (at) => {
        this.openedAt = at;
      }),
    };
    const policy = circuitBreaker(handleWhen((e) => isTroupeError(e) && kind.trips.has(e.code)), {
      halfOpenAfter: factory,
      breaker: new ConsecutiveBreaker(options.failures),
    });
    policy.onStateChange((s) => this.onChange(stateName(s)));
    return (this.policy = policy);
  }

  get state(): BreakerState {
    return this.policy === undefined ? 'closed' : stateName(this.policy.state);
  }

  /** When the breaker last opened (clock ms), while it is open or half-open. */
  get since(): number | undefined {
    return this.state === 'closed' ? undefined : this.openedAt;
  }

  /** Run `fn` through the breaker; open, it rejects at once with TROUPE_ERR_MODEL_CIRCUIT_OPEN. */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.made().execute(fn);
    } catch (e) {
      if (e instanceof BrokenCircuitError) {
        const left = this.openedAt === undefined ? this.options.halfOpenAfterMs : Math.max(0, this.openedAt + this.options.halfOpenAfterMs - this.clock.now());
        throw new TroupeError(this.kind.openCode, `the circuit breaker on ${this.kind.what} is open after ${this.options.failures} consecutive failures; next probe in ${left}ms`, {
          details: { retryAfterMs: left },
        });
      }
      throw e;
    }
  }
}

function stateName(s: CircuitState): BreakerState {
  if (s === CircuitState.Closed) return 'closed';
  if (s === CircuitState.HalfOpen) return 'half-open';
  return 'open';
}
