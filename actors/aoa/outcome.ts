import { TroupeError, serializeError, type SerializedError } from '../../protocol/index.js';
import type { StoredTask } from '../../storage/index.js';
import type { Outcome } from './api.js';
import type { AoaOptions } from './options.js';

/** What an attempt's outcome makes of its task: done, another attempt later, or failed for good. */
export type Verdict =
  | { kind: 'completed'; result: unknown }
  | { kind: 'retry'; readyAt: number; error: SerializedError }
  | { kind: 'failed'; error: SerializedError };

/**
 * The retry policy: a result over `maxResultBytes` is a failure; a failure is retried while
 * attempts remain (exponential backoff with full jitter, capped at `retryMaxMs`) unless the
 * task has no handler or the handler marked it `details.retryable === false`.
 *
 * @example const v = verdictOf(task, { ok: true, value: 42 }, options, clock.now(), Math.random);
 */
export function verdictOf(t: StoredTask, outcome: Outcome, options: AoaOptions, now: number, random: () => number): Verdict {
  if (outcome.ok) {
    const bytes = JSON.stringify(outcome.value ?? null)?.length ?? 0;
    if (bytes <= options.maxResultBytes) return { kind: 'completed', result: outcome.value ?? null };
    outcome = { ok: false, error: new TroupeError('TROUPE_ERR_AOA_HANDLER_FAILED', `result of ${bytes} bytes is over ${options.maxResultBytes}`) };
  }
  const error = serializeError(outcome.error instanceof TroupeError ? outcome.error : new TroupeError('TROUPE_ERR_AOA_HANDLER_FAILED', String((outcome.error as Error)?.message ?? outcome.error)));
  if (t.attempts <= t.max_retries && error.code !== 'TROUPE_ERR_AOA_NO_HANDLER' && error.details?.['retryable'] !== false) {
    const backoff = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (t.attempts - 1));
    return { kind: 'retry', readyAt: now + Math.floor(random() * (backoff + 1)), error };
  }
  return { kind: 'failed', error };
}
