import { z } from 'zod';

/**
 * The task runtime's options (config key `aoa`), validated once, with finite defaults:
 * workers autoscale between `minWorkers` and `maxWorkers`; a ready task waiting longer than
 * `scaleUpWaitMs` with no idle worker adds one; a worker idle for `scaleDownIdleMs` above
 * the minimum is stopped; decisions are taken every `scaleIntervalMs`. A queued task gains
 * one priority level per `agingMs` of waiting. Retries back off `retryBaseMs * 2^(n-1)`
 * (capped at `retryMaxMs`) with full jitter.
 */
export const aoaOptionsSchema = z.strictObject({
  minWorkers: z.number().int().min(1).max(256).default(1),
  maxWorkers: z.number().int().min(1).max(256).default(8),
  agingMs: z.number().int().min(1).max(86_400_000).default(60_000),
  retryBaseMs: z.number().int().min(0).max(3_600_000).default(1_000),
  retryMaxMs: z.number().int().min(0).max(86_400_000).default(60_000),
  maxOpenTasks: z.number().int().min(1).max(10_000_000).default(100_000),
  retainFinished: z.number().int().min(0).max(10_000_000).default(10_000),
  scaleIntervalMs: z.number().int().min(10).max(3_600_000).default(1_000),
  scaleUpWaitMs: z.number().int().min(0).max(3_600_000).default(500),
  scaleDownIdleMs: z.number().int().min(0).max(86_400_000).default(30_000),
  maxResultBytes: z.number().int().min(1).max(16 * 1024 * 1024).default(256 * 1024),
}).refine((o) => o.minWorkers <= o.maxWorkers, { message: 'minWorkers must not exceed maxWorkers' });

export type AoaOptionsInput = z.input<typeof aoaOptionsSchema>;
export type AoaOptions = z.output<typeof aoaOptionsSchema>;
