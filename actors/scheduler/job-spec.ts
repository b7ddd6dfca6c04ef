import { z } from 'zod';
import { Cron } from 'croner';
import { TroupeError, describeIssues } from '../../protocol/index.js';

/** Most schedules one node holds. */
export const MAX_JOBS = 100_000;
/** Longest cron expression, name and description accepted. */
const MAX_EXPR = 200;
/** Largest jitter (one hour). */
export const MAX_JITTER_MS = 3_600_000;

const instant = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]).transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

export const overlapSchema = z.enum(['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'allow-all']);
export type OverlapPolicy = z.infer<typeof overlapSchema>;

/** `POST /api/v1/aoa/jobs` body (snake_case, as seed 000; extra fields allowed). */
export const jobBodySchema = z.looseObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2_000).optional(),
  schedule: z.looseObject({
    type: z.enum(['once', 'interval', 'hourly', 'daily', 'cron']),
    at: instant.optional(),
    seconds: z.number().int().min(1).max(366 * 86_400).optional(),
    minute: z.number().int().min(0).max(59).optional(),
    hour: z.number().int().min(0).max(23).optional(),
    expression: z.string().min(1).max(MAX_EXPR).optional(),
    timezone: z.string().min(1).max(64).optional(),
    start_at: instant.optional(),
    end_at: instant.optional(),
  }),
  task: z.record(z.string(), z.unknown()),
  max_runs: z.number().int().min(1).max(1_000_000_000).optional(),
  jitter_seconds: z.number().min(0).max(MAX_JITTER_MS / 1000).optional(),
  policy: z.looseObject({
    overlap: overlapSchema.optional(),
    catchup_window_seconds: z.number().min(0).max(366 * 86_400).optional(),
    catchup: z.enum(['all', 'latest']).optional(),
    pause_on_failure: z.boolean().optional(),
  }).optional(),
});
export type JobBody = z.input<typeof jobBodySchema>;

/** How nominal fire times are made. */
export const calendarSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('once'), at: z.number() }),
  z.object({ kind: z.literal('interval'), everyMs: z.number().int().positive(), anchorMs: z.number() }),
  z.object({ kind: z.literal('cron'), expression: z.string().max(MAX_EXPR), timezone: z.string().max(64).optional() }),
]);
export type CalendarSpec = z.infer<typeof calendarSchema>;

/** A job's definition as stored (validated again on read). */
export const jobDefinitionSchema = z.object({
  id: z.string().min(1).max(100),
  name: z.string().max(200),
  description: z.string().max(2_000).optional(),
  type: z.enum(['once', 'interval', 'hourly', 'daily', 'cron']),
  calendar: calendarSchema,
  startAt: z.number().optional(),
  endAt: z.number().optional(),
  maxRuns: z.number().int().positive().optional(),
  jitterMs: z.number().min(0).max(MAX_JITTER_MS),
  policy: z.object({
    overlap: overlapSchema,
    catchupWindowMs: z.number().min(0),
    catchup: z.enum(['all', 'latest']),
    pauseOnFailure: z.boolean(),
  }),
  task: z.record(z.string(), z.unknown()),
  createdAt: z.number(),
});
export type JobDefinition = z.infer<typeof jobDefinitionSchema>;

/** Default catch-up window for recurring jobs (Temporal's client default, pinned). */
export const DEFAULT_CATCHUP_WINDOW_MS = 60_000;

function invalid(message: string, param: string): TroupeError {
  return new TroupeError('TROUPE_ERR_SCHEDULER_INVALID_JOB', message, { details: { param } });
}

/**
 * A job body checked and turned into a definition; TROUPE_ERR_SCHEDULER_INVALID_JOB names the
 * bad field (a bad cron expression or time zone included: croner is asked at once).
 *
 * @example
 * parseJob({ name: 'n', schedule: { type: 'daily', hour: 9 }, task: { task_type: 'AGENT_RUN' } }, 'j1', Date.now());
 */
export function parseJob(body: unknown, id: string, now: number): JobDefinition {
  const r = jobBodySchema.safeParse(body);
  if (!r.success) throw new TroupeError('TROUPE_ERR_SCHEDULER_INVALID_JOB', `invalid job: ${describeIssues(r.error)}`, { details: { param: r.error.issues[0]?.path.join('.') ?? null } });
  const b = r.data;
  const s = b.schedule;
  const tz = s.timezone;
  let calendar: CalendarSpec;
  switch (s.type) {
    case 'once':
      if (s.at === undefined || Number.isNaN(s.at)) throw invalid('a once schedule needs `at`', 'schedule.at');
      calendar = { kind: 'once', at: s.at };
      break;
    case 'interval':
      if (s.seconds === undefined) throw invalid('an interval schedule needs `seconds`', 'schedule.seconds');
      calendar = { kind: 'interval', everyMs: s.seconds * 1000, anchorMs: s.start_at ?? now };
      break;
    case 'hourly':
      calendar = { kind: 'cron', expression: `0 ${s.minute ?? 0} * * * *`, ...(tz ? { timezone: tz } : {}) };
      break;
    case 'daily':
      calendar = { kind: 'cron', expression: `0 ${s.minute ?? 0} ${s.hour ?? 0} * * *`, ...(tz ? { timezone: tz } : {}) };
      break;
    case 'cron':
      if (s.expression === undefined) throw invalid('a cron schedule needs `expression`', 'schedule.expression');
      calendar = { kind: 'cron', expression: s.expression, ...(tz ? { timezone: tz } : {}) };
      break;
  }
  if (calendar.kind === 'cron') {
    try {
      new Cron(calendar.expression, { paused: true, ...(calendar.timezone ? { timezone: calendar.timezone } : {}) }).nextRun(new Date(now));
    } catch (cause) {
      throw new TroupeError('TROUPE_ERR_SCHEDULER_INVALID_JOB', `invalid cron expression or time zone: ${(cause as Error).message.slice(0, 200)}`, { cause, details: { param: 'schedule.expression' } });
    }
  }
  if (s.start_at !== undefined && s.end_at !== undefined && s.end_at <= s.start_at) throw invalid('end_at must be after start_at', 'schedule.end_at');
  const p = b.policy ?? {};
  return {
    id,
    name: b.name,
    ...(b.description !== undefined ? { description: b.description } : {}),
    type: s.type,
    calendar,
    ...(s.start_at !== undefined ? { startAt: s.start_at } : {}),
    ...(s.end_at !== undefined ? { endAt: s.end_at } : {}),
    ...(b.max_runs !== undefined ? { maxRuns: b.max_runs } : {}),
    jitterMs: Math.round((b.jitter_seconds ?? 0) * 1000),
    policy: {
      overlap: p.overlap ?? 'skip',
      // a missed once job still fires unless it ended; recurring ones within the window
      catchupWindowMs: p.catchup_window_seconds !== undefined ? p.catchup_window_seconds * 1000 : s.type === 'once' ? Number.MAX_SAFE_INTEGER : DEFAULT_CATCHUP_WINDOW_MS,
      catchup: p.catchup ?? 'all',
      pauseOnFailure: p.pause_on_failure ?? false,
    },
    task: b.task,
    createdAt: now,
  };
}
