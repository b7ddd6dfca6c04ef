import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { CancelSignal } from './provider.js';
import { parseRetryAfter } from './retry.js';

/** Why our own controller aborted an attempt. */
export type Why = 'cancel' | 'idle' | 'deadline';

/** What went wrong in one attempt, and whether another attempt may help. */
export interface Failure {
  error: TroupeError;
  retryable: boolean;
  retryAfterMs?: number;
}

/** What a failure is judged against: the attempt's limits and the provider's clock and logger. */
export interface FailureContext {
  signal: CancelSignal | undefined;
  /** The whole call's limit. */
  timeoutMs: number;
  idleTimeoutMs: number;
  /** The limit for the response headers this attempt had (connect or response timeout). */
  headersTimeoutMs: number;
  /** Names the limit in the message: a streamed call's headers come at once, a whole answer's at its end. */
  headersLimit: 'connectTimeoutMs' | 'responseTimeoutMs';
  now: number;
  logger: Logger | undefined;
}

/**
 * Map whatever ended an attempt (the package's errors, our own aborts, a malformed chunk)
 * onto a coded error, and say whether a retry may help.
 *
 * @example
 * throw classifyFailure(e, why, { signal, timeoutMs, idleTimeoutMs, headersTimeoutMs, headersLimit: 'connectTimeoutMs', now, logger });
 */
export function classifyFailure(e: unknown, why: Why | undefined, c: FailureContext): Failure {
  const { signal } = c;
  // undici's bodyTimeout inside a streamed answer: the stream stalled (the clock's idle timer may not have fired yet).
  if (why === undefined && (e as { code?: unknown } | undefined)?.code === 'UND_ERR_BODY_TIMEOUT') why = 'idle';
  if (why === 'cancel' || (e instanceof APIUserAbortError && signal?.aborted)) {
    return { error: new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled', { cause: signal?.reason ?? e }), retryable: false };
  }
  if (why === 'idle') {
    return {
      error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model stream stalled: no data for ${c.idleTimeoutMs}ms`, {
        cause: e,
        details: { idleTimeoutMs: c.idleTimeoutMs },
      }),
      retryable: false,
    };
  }
  if (why === 'deadline') {
    return {
      error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model call exceeded ${c.timeoutMs}ms`, { cause: e, details: { timeoutMs: c.timeoutMs } }),
      retryable: false,
    };
  }
  if (e instanceof APIConnectionTimeoutError) {
    return {
      error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model sent no response within ${c.headersTimeoutMs}ms`, {
        cause: e,
        details: { [c.headersLimit]: c.headersTimeoutMs },
      }),
      retryable: false,
    };
  }
  if (e instanceof APIConnectionError) {
    // The adapter's own verdict (an oversized or stalled body): a retry would not do better.
    if (e.cause instanceof TroupeError) return { error: e.cause, retryable: false };

    return { error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `cannot reach upstream model: ${e.message}`, { cause: e }), retryable: true };
  }
  if (e instanceof APIError) return classifyStatus(e, c);
  // A connection dropped mid-answer, a malformed chunk: transient as far as we can tell.
  const message = e instanceof Error ? e.message : String(e);
  return { error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model stream failed: ${message}`, { cause: e }), retryable: true };
}

/** An HTTP error status from the upstream. */
function classifyStatus(e: APIError, c: FailureContext): Failure {
  const status = e.status;
  const details: Record<string, unknown> = {
    ...(status !== undefined ? { status } : {}),
    ...(e.code ? { upstreamCode: e.code } : {}),
    ...(e.type ? { upstreamType: e.type } : {}),
    ...(e.param ? { param: e.param } : {}),
    ...(e.requestID ? { requestId: e.requestID } : {}),
  };
  const retryAfterMs = parseRetryAfter(e.headers, c.now);
  const withWait = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if (status === 429) {
    return {
      error: new TroupeError('TROUPE_ERR_MODEL_RATE_LIMITED', `upstream model rate-limited the request: ${e.message}`, { cause: e, details }),
      retryable: true,
      ...withWait,
    };
  }
  if (status === 408) {
    return { error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model timed out: ${e.message}`, { cause: e, details }), retryable: true, ...withWait };
  }
  if (status === 401 || status === 403) {
    // Our own credentials were refused: nothing the caller can fix, and the upstream's
    // message may quote part of the key, so it goes to the logs only.
    c.logger?.error({ status, upstreamMessage: e.message, ...details }, 'upstream model refused the credentials');
    return {
      error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model refused troupe's credentials (HTTP ${status}); see the node's logs`, { details: { status } }),
      retryable: false,
    };
  }
  if (status === undefined || status >= 500) {
    return { error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model failed: ${e.message}`, { cause: e, details }), retryable: true, ...withWait };
  }
  return { error: new TroupeError('TROUPE_ERR_MODEL_BAD_REQUEST', `upstream model rejected the request: ${e.message}`, { cause: e, details }), retryable: false };
}
