import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import { TASK_PRIORITIES, type StoredTask } from '../../storage/index.js';
import { fastSubmit } from './fast-submit.js';

/** The task types seed 000 names; custom ones are registered with `registerHandler`. */
export const BUILTIN_TASK_TYPES = ['AGENT_RUN', 'FABRIC_ACTION', 'SCHEDULED_JOB', 'WORKFLOW', 'NOOP'] as const;
/** A task type: upper snake case, 1-64 characters. */
export const TASK_TYPE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
/** A task's payload, serialized as JSON, may not exceed this. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

const shortString = z.string().min(1).max(256);
const isoOrEpoch = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()])
  .transform((v) => (typeof v === 'number' ? v : Date.parse(v)));

/**
 * `POST /api/v1/aoa/tasks` and `submitTask(input)`: seed 000 §6.1's AOATask fields, snake
 * case; extra fields are allowed and ignored. For AGENT_RUN, `payload` is `{ agent, input }`.
 *
 * @example
 * taskSubmitSchema.parse({ task_type: 'AGENT_RUN', payload: { agent: 'helper', input: 'hi' }, priority: 'HIGH' });
 */
export const taskSubmitSchema = z.looseObject({
  task_type: z.string().regex(TASK_TYPE_RE, 'task_type must be upper snake case, 1-64 characters'),
  payload: z.unknown().default({}).refine((p) => JSON.stringify(p ?? null).length <= MAX_PAYLOAD_BYTES, `payload over ${MAX_PAYLOAD_BYTES} bytes as JSON`),
  priority: z.enum(TASK_PRIORITIES).default('NORMAL'),
  scheduled_at: isoOrEpoch.optional(),
  agent_id: shortString.optional(),
  tenant_id: shortString.optional(),
  run_id: shortString.optional(),
  timeout_seconds: z.number().positive().max(86_400).default(300),
  max_retries: z.number().int().min(0).max(100).default(3),
  idempotency_key: shortString.optional(),
  raci_responsible: shortString.default('AOA'),
  raci_accountable: shortString.optional(),
  raci_consulted: z.array(shortString).max(64).default([]),
  raci_informed: z.array(shortString).max(64).default([]),
  target_system: shortString.optional(),
  action_type: shortString.optional(),
  primary_plane_id: shortString.optional(),
  fabric_preset: shortString.optional(),
  fabric_context: z.record(z.string(), z.unknown()).optional(),
});

/** What `submitTask` takes (defaults filled in by validation). */
export type TaskSubmitInput = z.input<typeof taskSubmitSchema>;
export type TaskSubmit = z.output<typeof taskSubmitSchema>;

/** AGENT_RUN's payload. */
export const agentRunPayloadSchema = z.object({
  agent: z.string().min(1).max(64),
  input: z.union([z.string().min(1).max(MAX_PAYLOAD_BYTES), z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).min(1).max(1000)]),
  conversation_id: shortString.optional(),
});

/** Validate a submit body; TROUPE_ERR_AOA_INVALID_TASK names the bad field. */
export function parseSubmit(input: unknown): TaskSubmit {
  const fast = fastSubmit(input);
  if (fast !== undefined) return fast;
  const r = taskSubmitSchema.safeParse(input);
  if (!r.success) throw new TroupeError('TROUPE_ERR_AOA_INVALID_TASK', `invalid task: ${describeIssues(r.error)}`);
  if (r.data.scheduled_at !== undefined && Number.isNaN(r.data.scheduled_at)) throw new TroupeError('TROUPE_ERR_AOA_INVALID_TASK', 'invalid task: scheduled_at is not a date');
  if (r.data.task_type === 'AGENT_RUN') {
    const p = agentRunPayloadSchema.safeParse(r.data.payload);
    if (!p.success) throw new TroupeError('TROUPE_ERR_AOA_INVALID_TASK', `invalid AGENT_RUN payload: ${describeIssues(p.error)}`);
  }
  return r.data;
}

/** A task's status as the API shows it: a queued task with a future `ready_at` is `scheduled`. */
export type TaskStatus = 'pending' | 'scheduled' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * A task as `GET /api/v1/aoa/tasks/:id` and the library API return it: the stored fields,
 * times as ISO strings, and the status with `scheduled` for a task waiting for its time.
 */
export type TaskRecordView = Omit<StoredTask, 'v' | 'status' | 'scheduled_at' | 'created_at' | 'ready_at' | 'started_at' | 'finished_at'> & {
  status: TaskStatus;
  scheduled_at?: string;
  created_at: string;
  ready_at: string;
  started_at?: string;
  finished_at?: string;
};

/** Slots of the ISO text cache: a view shows up to four times, and the tasks of a burst share few milliseconds. */
const ISO_SLOTS = 256;
const isoMs = new Float64Array(ISO_SLOTS).fill(Number.NaN);
const isoText: string[] = new Array<string>(ISO_SLOTS).fill('');
/** A time as ISO text, from a cache of recent milliseconds (a slot per millisecond modulo {@link ISO_SLOTS}; any number is a valid key). */
const iso = (t: number | undefined): string | undefined => {
  if (t === undefined) return undefined;
  const slot = t & (ISO_SLOTS - 1);
  if (isoMs[slot] !== t) {
    isoText[slot] = new Date(t).toISOString();
    isoMs[slot] = t;
  }
  return isoText[slot];
};
/**
 * The view of a stored task at `now`. `asSubmitted`: as the submitter is answered when the
 * submit's own commit also started the first attempt (pending, no attempt yet).
 */
export function viewOf(t: StoredTask, now: number, asSubmitted = false): TaskRecordView {
  // one literal of the fields every record has (one object of one shape, made at its size),
  // then the optional ones: copying key by key grew each view through a dozen shapes
  const status = asSubmitted ? 'pending' : t.status;
  const created = iso(t.created_at)!;
  const out: TaskRecordView = {
    id: t.id, seq: t.seq, task_type: t.task_type, payload: t.payload, priority: t.priority,
    timeout_seconds: t.timeout_seconds, max_retries: t.max_retries,
    raci_responsible: t.raci_responsible, raci_consulted: t.raci_consulted, raci_informed: t.raci_informed,
    attempts: asSubmitted ? 0 : t.attempts,
    status: status === 'pending' && t.ready_at > now ? 'scheduled' : status,
    created_at: created,
    ready_at: t.ready_at === t.created_at ? created : iso(t.ready_at)!,
  };
  if (t.scheduled_at !== undefined) out.scheduled_at = iso(t.scheduled_at);
  if (t.agent_id !== undefined) out.agent_id = t.agent_id;
  if (t.tenant_id !== undefined) out.tenant_id = t.tenant_id;
  if (t.run_id !== undefined) out.run_id = t.run_id;
  if (t.idempotency_key !== undefined) out.idempotency_key = t.idempotency_key;
  if (t.raci_accountable !== undefined) out.raci_accountable = t.raci_accountable;
  if (t.target_system !== undefined) out.target_system = t.target_system;
  if (t.action_type !== undefined) out.action_type = t.action_type;
  if (t.routed_action_id !== undefined) out.routed_action_id = t.routed_action_id;
  if (t.primary_plane_id !== undefined) out.primary_plane_id = t.primary_plane_id;
  if (t.fabric_preset !== undefined) out.fabric_preset = t.fabric_preset;
  if (t.fabric_context !== undefined) out.fabric_context = t.fabric_context;
  if (!asSubmitted && t.started_at !== undefined) out.started_at = iso(t.started_at);
  if (t.finished_at !== undefined) out.finished_at = iso(t.finished_at);
  if (t.result !== undefined) out.result = t.result;
  if (t.error !== undefined) out.error = t.error;
  return out;
}

/** What a task handler gets: the task, its attempt number, and a signal aborted on cancel or timeout. */
export interface TaskContext {
  task: TaskRecordView;
  attempt: number;
  signal: AbortSignal;
}

/** Runs one attempt of a task; resolves with its (JSON) result or throws. */
export type TaskHandler = (ctx: TaskContext) => Promise<unknown>;
