import { z } from 'zod';

/** A host name, IP literal or `*.suffix` pattern of `allowHosts`. */
const hostEntry = z.string().min(1).max(253).regex(/^(\*\.)?[A-Za-z0-9.:_[\]-]+$/, 'a host name, an IP address or *.domain');

/**
 * A2A push notifications (config key `a2a.push`): where they may go and how hard delivery
 * tries. Validated once when the a2a module is made.
 */
export const pushOptionsSchema = z.strictObject({
  /** Agents accept push notification configs (their cards say `pushNotifications: true`). */
  enabled: z.boolean().default(true),
  /** Hosts allowed whatever they resolve to (loopback, private, even metadata): exact names, IPs, or `*.example.com`. */
  allowHosts: z.array(hostEntry).max(256).default([]),
  /** Private, loopback, link-local and unique-local addresses are allowed (cloud metadata addresses still are not). */
  allowPrivate: z.boolean().default(false),
  /** Attempts per notification before it is given up (TROUPE_ERR_A2A_PUSH_DELIVERY_FAILED in the log). */
  maxAttempts: z.number().int().min(1).max(100).default(10),
  /** Delay before the first retry; each further retry doubles it (with jitter), up to maxBackoffMs. */
  initialBackoffMs: z.number().int().min(1).max(3_600_000).default(1_000),
  maxBackoffMs: z.number().int().min(1).max(86_400_000).default(300_000),
  /** One delivery attempt's time limit (connect, send, answer). */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Configs one task may hold. */
  maxConfigsPerTask: z.number().int().min(1).max(100).default(10),
  /** Notifications waiting for delivery, over all tasks; past it a new one is dropped and logged (TROUPE_ERR_STORAGE_FULL). */
  maxPending: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Bytes of notification bodies waiting for delivery (held in memory too), over all tasks; past it a new one is dropped and logged (TROUPE_ERR_STORAGE_FULL). */
  maxPendingBytes: z.number().int().min(1_024).max(17_179_869_184).default(268_435_456),
  /** Deliveries in flight at once (one per task and config at a time, in order). */
  concurrency: z.number().int().min(1).max(256).default(8),
  /** Lifetime of the JWT a node signs for a config whose authentication asks for one. */
  jwtTtlS: z.number().int().min(10).max(3_600).default(300),
}).refine((o) => o.initialBackoffMs <= o.maxBackoffMs, { message: 'initialBackoffMs must not exceed maxBackoffMs' });

export type PushOptions = z.output<typeof pushOptionsSchema>;
export type PushOptionsInput = z.input<typeof pushOptionsSchema>;

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: `initial * 2^(attempt-1)`,
 * capped, with full jitter over its upper half (`random` in [0, 1)).
 *
 * @example
 * backoffMs(3, { initialBackoffMs: 1000, maxBackoffMs: 60_000 }, () => 0.5); // 3000
 */
export function backoffMs(attempt: number, o: Pick<PushOptions, 'initialBackoffMs' | 'maxBackoffMs'>, random: () => number = Math.random): number {
  const exp = Math.min(o.maxBackoffMs, o.initialBackoffMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.max(1, Math.round(exp / 2 + (exp / 2) * random()));
}
