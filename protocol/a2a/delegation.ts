import { z } from 'zod';
import { a2aAgentNameSchema } from './messages.js';

/** Which agents an agent may delegate to: names, or `'*'` for every agent of the cluster. */
export const delegatesSchema = z.union([z.literal('*'), z.array(a2aAgentNameSchema).min(1).max(64)]);
export type Delegates = z.infer<typeof delegatesSchema>;

const ms = (def: number, max = 3_600_000) => z.number().int().positive().max(max).default(def);

/**
 * How an agent's delegations behave (the `delegation` key of an agent spec). Every bound
 * is finite: per-target timeout, retries with exponential backoff, a circuit breaker per
 * target, a depth limit on the call chain, and an optional fallback agent that takes the
 * task when the target fails for good (or its breaker is open).
 *
 * @example
 * delegationOptionsSchema.parse({ fallback: 'helper', timeoutMs: 10_000 });
 */
export const delegationOptionsSchema = z.strictObject({
  /** The agent that takes a task whose target failed after its retries (or whose breaker is open). */
  fallback: a2aAgentNameSchema.optional(),
  /** Time a target has for one attempt, from the send to its answer. */
  timeoutMs: ms(30_000),
  /** Further attempts after a failure that may pass (timeouts, an unreachable node); 0: none. */
  retries: z.number().int().min(0).max(10).default(2),
  /** Wait before retry n: min(maxMs, minMs * 2^n), jittered. */
  backoff: z.strictObject({
    minMs: z.number().int().min(0).max(60_000).default(100),
    maxMs: z.number().int().min(0).max(600_000).default(2_000),
  }).prefault({}),
  /** Per target: consecutive failed calls that open its breaker, and the time open before a probe. */
  breaker: z.strictObject({
    failures: z.number().int().min(1).max(1_000).default(3),
    halfOpenAfterMs: ms(30_000),
  }).prefault({}),
  /** Delegations one request may nest (A -> B is 1, A -> B -> C is 2); past it the call is refused. */
  maxDepth: z.number().int().min(1).max(16).default(4),
});
export type DelegationOptions = z.output<typeof delegationOptionsSchema>;
export type DelegationOptionsInput = z.input<typeof delegationOptionsSchema>;
