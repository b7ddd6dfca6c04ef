import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, TimeoutStrategy, circuitBreaker, handleWhen,
  TaskCancelledError, retry, timeout, wrap, type IPolicy,
} from 'cockatiel';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { Connector, ConnectorRequest, ConnectorState } from '../connector.js';
import type { HttpConnectorConfig } from '../options.js';

/** A 4xx answer: the request is wrong, so it is neither retried nor held against the breaker. */
class RejectedByUpstream extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}
/** A 5xx or 429 answer, or a body too large: retried and counted by the breaker. */
class UpstreamFailed extends Error {
  constructor(readonly status: number | undefined, message: string) {
    super(message);
  }
}

const BREAKER_STATE: Record<CircuitState, ConnectorState['breaker']> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * An HTTP connector: each action is a `POST` of its JSON to the configured URL with the
 * configured auth headers. Each attempt has its own timeout; network errors, timeouts, 5xx
 * and 429 are retried with exponential backoff; `breakerFailures` failed attempts in a row
 * open the circuit breaker (cockatiel), after which calls fail at once with
 * TROUPE_ERR_FABRIC_BREAKER_OPEN until a trial call after `breakerHalfOpenMs` succeeds.
 *
 * @example
 * const c = new HttpConnector({ type: 'http', url: 'https://ipaas.example/run', bearerToken: 't', ...defaults }, log);
 * await c.execute({ action_id: 'a1', action_type: 'workflow', target_system: 'netsuite', primary_plane_id: 'ipaas-1' });
 */
export class HttpConnector implements Connector {
  readonly type = 'http' as const;
  private readonly breaker;
  private readonly policy: IPolicy;
  private readonly headers: Record<string, string>;

  constructor(private readonly config: HttpConnectorConfig, private readonly log: Logger) {
    this.headers = {
      ...config.headers,
      ...(config.bearerToken ? { authorization: `Bearer ${config.bearerToken}` } : {}),
      'content-type': 'application/json',
      accept: 'application/json',
    };
    this.breaker = circuitBreaker(handleWhen((e) => !(e instanceof RejectedByUpstream)), {
      halfOpenAfter: config.breakerHalfOpenMs,
      breaker: new ConsecutiveBreaker(config.breakerFailures),
    });
    this.breaker.onStateChange((s) => this.log.warn({ breaker: BREAKER_STATE[s] }, 'fabric connector breaker state changed'));
    const retries = retry(handleWhen((e) => !(e instanceof RejectedByUpstream) && !(e instanceof BrokenCircuitError)), {
      maxAttempts: config.retries,
      backoff: new ExponentialBackoff({ initialDelay: config.retryBaseMs, maxDelay: Math.max(config.retryBaseMs, config.retryMaxMs) }),
    });
    this.policy = wrap(retries, this.breaker, timeout(config.timeoutMs, TimeoutStrategy.Aggressive));
  }

  async execute(req: ConnectorRequest, signal?: AbortSignal): Promise<unknown> {
    try {
      return await this.policy.execute(({ signal: s }) => this.attempt(req, s), signal);
    } catch (e) {
      throw this.coded(e);
    }
  }

  private async attempt(req: ConnectorRequest, signal: AbortSignal): Promise<unknown> {
    const res = await fetch(this.config.url, { method: 'POST', headers: this.headers, body: JSON.stringify(req), signal, redirect: 'error' });
    const text = await readBounded(res, this.config.maxResponseBytes);
    if (res.status === 429 || res.status >= 500) throw new UpstreamFailed(res.status, `upstream answered ${res.status}`);
    if (res.status >= 400) throw new RejectedByUpstream(res.status);
    if (text === undefined) throw new UpstreamFailed(res.status, `upstream answer over ${this.config.maxResponseBytes} bytes`);
    if (text.length === 0) return { status: res.status };
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return { status: res.status, text: text.slice(0, 4_096) };
    }
  }

  private coded(e: unknown): TroupeError {
    if (e instanceof BrokenCircuitError) return new TroupeError('TROUPE_ERR_FABRIC_BREAKER_OPEN', 'the plane\'s circuit breaker is open after repeated failures; the action was not sent', { cause: e });
    // instanceof: cockatiel 3.2.1's isTaskCancelledError() tests the wrong property
    if (e instanceof TaskCancelledError) return new TroupeError('TROUPE_ERR_FABRIC_TIMEOUT', `no answer within ${this.config.timeoutMs} ms`, { cause: e });
    const status = e instanceof RejectedByUpstream || e instanceof UpstreamFailed ? e.status : undefined;
    return new TroupeError('TROUPE_ERR_FABRIC_CONNECTOR_FAILED', status !== undefined ? `upstream answered ${status}` : `upstream unreachable: ${(e as Error)?.message ?? String(e)}`.slice(0, 300), {
      cause: e,
      ...(status !== undefined ? { details: { upstream_status: status } } : {}),
    });
  }

  state(): ConnectorState {
    const breaker = BREAKER_STATE[this.breaker.state];
    return { health: breaker === 'closed' ? 'healthy' : breaker === 'half_open' ? 'degraded' : 'unhealthy', breaker };
  }

  describe(): Record<string, unknown> {
    // the origin only: a path or query may carry a token
    return { type: 'http', origin: new URL(this.config.url).origin, timeout_ms: this.config.timeoutMs, retries: this.config.retries, breaker_failures: this.config.breakerFailures };
  }
}

/** The body as text, or undefined when it is longer than `max` bytes (the rest is not read). */
async function readBounded(res: Response, max: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
