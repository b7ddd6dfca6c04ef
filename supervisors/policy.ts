import { z } from 'zod';
import { defaultDecider, type Decider } from './directive.js';

/**
 * Supervision options of a supervisor (how it treats its children), validated once with
 * defaults. The defaults, documented in the README:
 * - strategy one-for-one;
 * - at most 5 restarts within 10 s (OTP's intensity/period), past which the supervisor fails;
 * - no backoff delay (minMs 0, like OTP); with minMs > 0, exponential backoff up to 30 s,
 *   jitter factor 0.2, attempts forgotten after 30 s without a failure;
 * - the decider restarts on every error.
 */
export const supervisionSchema = z.object({
  strategy: z.enum(['one-for-one', 'one-for-all', 'rest-for-one']).default('one-for-one'),
  maxRestarts: z.number().int().nonnegative().max(1_000_000).default(5),
  withinMs: z.number().int().positive().max(86_400_000).default(10_000),
  backoff: z.object({
    minMs: z.number().nonnegative().max(3_600_000).default(0),
    maxMs: z.number().nonnegative().max(3_600_000).default(30_000),
    randomFactor: z.number().min(0).max(10).default(0.2),
    resetAfterMs: z.number().nonnegative().max(86_400_000).default(30_000),
  }).prefault({}),
  decider: z.custom<Decider>((v) => typeof v === 'function', 'decider must be a function').default(() => defaultDecider),
}).refine((o) => o.backoff.maxMs >= o.backoff.minMs, { message: 'backoff.maxMs must be >= backoff.minMs', path: ['backoff', 'maxMs'] });

export type SupervisionInput = z.input<typeof supervisionSchema>;
export type SupervisionPolicy = z.output<typeof supervisionSchema>;

/**
 * Validate and default supervision options once.
 *
 * @example supervision({ strategy: 'one-for-all', maxRestarts: 3, withinMs: 1000 })
 */
export function supervision(input: SupervisionInput = {}): SupervisionPolicy {
  return Object.freeze(supervisionSchema.parse(input));
}
