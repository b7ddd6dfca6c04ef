import { z } from 'zod';
import { jobDefinitionSchema, type JobDefinition } from './job-spec.js';

/** Recent fires kept per job (what `GET /api/v1/aoa/jobs/:id` shows). */
export const RECENT_FIRES = 10;
/** Fires one job may hold buffered (buffer-all). */
export const MAX_BUFFERED = 1_000;

const fireOutcome = z.enum(['pending', 'submitted', 'completed', 'failed', 'cancelled', 'skipped', 'missed', 'dropped', 'submit_failed']);
export type FireOutcome = z.infer<typeof fireOutcome>;

const fireRecordSchema = z.object({
  fire_id: z.string(),
  nominal: z.number(),
  at: z.number(),
  outcome: fireOutcome,
  task_id: z.string().optional(),
});
export type FireRecord = z.infer<typeof fireRecordSchema>;

const countersSchema = z.object({
  fired: z.number(), missed: z.number(), skipped: z.number(), dropped: z.number(), succeeded: z.number(), failed: z.number(),
});
export type JobCounters = z.infer<typeof countersSchema>;

/**
 * A job's persisted record (the `schedules` database, keyed by id), checked on read: its
 * definition, the cursor (every nominal time up to it has been decided), and the fires
 * decided but not yet acknowledged by the runtime (`pending`: submitted again after a
 * restart with the same idempotency key, so each enqueues once).
 */
export const jobStateSchema = z.object({
  v: z.literal(1),
  def: jobDefinitionSchema,
  status: z.enum(['scheduled', 'paused', 'completed']),
  pauseNote: z.string().max(1_000).optional(),
  cursor: z.number(),
  runCount: z.number().int(),
  pending: z.array(z.object({ fireId: z.string(), nominal: z.number(), attempts: z.number().int() })),
  running: z.array(z.object({ fireId: z.string(), nominal: z.number(), taskId: z.string(), cancel: z.boolean().optional() })),
  buffered: z.array(z.number()),
  counters: countersSchema,
  fires: z.array(fireRecordSchema),
  lastRunAt: z.number().optional(),
});
export type JobState = z.infer<typeof jobStateSchema>;

/** A new job's state: nothing decided before its creation. */
export function initialState(def: JobDefinition): JobState {
  return {
    v: 1, def, status: 'scheduled', cursor: def.createdAt, runCount: 0, pending: [], running: [], buffered: [],
    counters: { fired: 0, missed: 0, skipped: 0, dropped: 0, succeeded: 0, failed: 0 }, fires: [],
  };
}

/** Record a fire's outcome in the bounded recent list (an update to a fire already listed replaces it). */
export function recordFire(s: JobState, rec: FireRecord): void {
  const i = s.fires.findIndex((f) => f.fire_id === rec.fire_id);
  if (i >= 0) s.fires[i] = rec;
  else {
    s.fires.push(rec);
    if (s.fires.length > RECENT_FIRES) s.fires.splice(0, s.fires.length - RECENT_FIRES);
  }
}
