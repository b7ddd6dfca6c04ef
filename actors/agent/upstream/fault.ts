import { z } from 'zod';
import { TroupeError, type ChatMessage, type Clock, type ModelResult } from '../../../protocol/index.js';
import type { CancelSignal, CompleteOptions, ModelRequest } from '../model/index.js';

/** Most text a `verbose` fault writes for one call. */
export const MAX_VERBOSE_BYTES = 256 * 1024 * 1024;
/** Size of one delta a `verbose` fault streams. */
const VERBOSE_PIECE = 16 * 1024;

/** How an injected upstream fault behaves (the `upstream` drill; `verbose` is the `slow-client` drill's fast writer). */
export const UPSTREAM_FAULT_MODES = ['rate-limit', 'error', 'stall', 'slow', 'verbose'] as const;
export type UpstreamFaultMode = (typeof UPSTREAM_FAULT_MODES)[number];

/**
 * A fault on an agent's model calls for a while: `rate-limit` answers as a 429 with
 * Retry-After would, `error` as a 500 would, `stall` holds each call until the fault ends
 * (then the stalled stream times out), `slow` delays each call by `delayMs` and then lets it
 * through, `verbose` answers a call whose last user message contains `match` with `bytes` of
 * text streamed as fast as the process can (no upstream call; other calls are untouched).
 * Calls started after `until` (clock ms) are untouched.
 */
export const upstreamFaultSchema = z.strictObject({
  mode: z.enum(UPSTREAM_FAULT_MODES),
  until: z.number(),
  retryAfterMs: z.number().int().positive().max(600_000).default(1_000),
  delayMs: z.number().int().nonnegative().max(600_000).default(500),
  bytes: z.number().int().positive().max(MAX_VERBOSE_BYTES).default(32 * 1024 * 1024),
  match: z.string().min(1).max(256).optional(),
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

/** True when a `verbose` fault answers this call (its last user message contains the fault's `match`). */
export function verboseApplies(fault: UpstreamFault, req: ModelRequest): boolean {
  if (fault.mode !== 'verbose') return false;
  if (fault.match === undefined) return true;
  const last = [...req.messages].reverse().find((m): m is Extract<ChatMessage, { role: 'user' }> => m.role === 'user');
  if (!last) return false;
  const text = typeof last.content === 'string' ? last.content : last.content.map((p) => ('text' in p && typeof p.text === 'string' ? p.text : '')).join('');
  return text.includes(fault.match);
}

/**
 * The answer of a `verbose` fault: `bytes` of text in 16 KB deltas, one per event-loop turn,
 * so a cancel (a slow client's stream cut) lands before the next piece. Throws
 * TROUPE_ERR_AGENT_CANCELLED once the call is aborted.
 */
export async function verboseAnswer(fault: UpstreamFault, model: string, opts: CompleteOptions, signal: CancelSignal): Promise<ModelResult> {
  const piece = 'troupe slow-client drill output '.repeat(Math.ceil(VERBOSE_PIECE / 32)).slice(0, VERBOSE_PIECE);
  let written = 0;
  while (written < fault.bytes) {
    await new Promise<void>((r) => setImmediate(r));
    if (signal.aborted) throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled while it streamed the drill output', { cause: signal.reason });
    const text = piece.slice(0, Math.min(piece.length, fault.bytes - written));
    written += text.length;
    opts.onDelta?.({ type: 'content', text });
  }
  // reached only when a client took all of it: the answer is what was streamed
  const tokens = Math.ceil(written / 4);
  return {
    content: piece.repeat(Math.ceil(fault.bytes / piece.length)).slice(0, fault.bytes),
    toolCalls: [], finishReason: 'stop', model,
    usage: { prompt_tokens: 0, completion_tokens: tokens, total_tokens: tokens },
  };
}
