import { z } from 'zod';
import { TroupeError, type Clock } from '../../../protocol/index.js';
import type { CancelSignal } from '../model/index.js';

/** How an injected upstream fault behaves (the `upstream` drill). */
export const UPSTREAM_FAULT_MODES = ['rate-limit', 'error', 'stall', 'slow'] as const;
export type UpstreamFaultMode = (typeof UPSTREAM_FAULT_MODES)[number];

/**
 * A fault on an agent's model calls for a while: `rate-limit` answers as a 429 with
 * Retry-After would, `error` as a 500 would, `stall` holds each call until the fault ends
 * (then the stalled stream times out), `slow` delays each call by `delayMs` and then lets it
 * through. Calls started after `until` (clock ms) are untouched.
 */
export const upstreamFaultSchema = z.strictObject({
  mode: z.enum(UPSTREAM_FAULT_MODES),
  until: z.number(),
  retryAfterMs: z.number().int().positive().max(600_000).default(1_000),
  delayMs: z.number().int().nonnegative().max(600_000).default(500),
});
export type UpstreamFault = z.output<typeof upstreamFaultSchema>;
export type UpstreamFaultInput = z.input<typeof upstreamFaultSchema>;

/** Wait `ms` on the clock; an abort ends the wait early (resolves false). */
export function clockWait(clock: Clock, ms: number, signal: CancelSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clock.clearTimeout(t);
      resolve(false);
    };
    const t = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Apply the fault to one call starting now: throws the error the upstream would have caused,
 * or resolves once the call may go on (after a `slow` delay). A `stall` or `slow` wait ends
 * early when the call is aborted.
 */
export async function applyFault(fault: UpstreamFault, clock: Clock, signal: CancelSignal | undefined): Promise<void> {
  switch (fault.mode) {
    case 'rate-limit':
      throw new TroupeError('TROUPE_ERR_MODEL_RATE_LIMITED', `upstream model rate-limited the request (injected by a drill); retry after ${fault.retryAfterMs}ms`, {
        details: { status: 429, retryAfterMs: fault.retryAfterMs, injected: true },
      });
    case 'error':
      throw new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', 'upstream model failed: 500 (injected by a drill)', { details: { status: 500, injected: true } });
    case 'stall': {
      const waited = await clockWait(clock, Math.max(0, fault.until - clock.now()), signal);
      if (!waited) throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled while the upstream stalled');
      throw new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', 'upstream model stream stalled (injected by a drill)', { details: { injected: true } });
    }
    case 'slow':
      if (!(await clockWait(clock, fault.delayMs, signal))) throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled while the upstream was slow');
  }
}
