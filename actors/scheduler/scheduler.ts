import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, newId, describeIssues } from '../../protocol/index.js';
import type { ActorRef, Context } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { JobCalendar } from './calendar.js';
import { jobBehaviour, type JobMessage } from './job-actor.js';
import { MAX_JOBS, overlapSchema, parseJob } from './job-spec.js';
import { initialState, type JobState } from './job-state.js';
import type { JobStore } from './job-store.js';
import type { TaskSubmitter } from './submitter.js';

/** A job as the API shows it (`GET /api/v1/aoa/jobs/:id`). */
export interface JobView {
  id: string;
  name: string;
  description?: string;
  schedule: unknown;
  status: string;
  pause_note?: string;
  run_count: number;
  max_runs?: number;
  next_run_at: string | null;
  last_run_at: string | null;
  policy: unknown;
  counters: JobState['counters'];
  running: number;
  buffered: number;
  fires: JobState['fires'];
}

const noteSchema = z.object({ note: z.string().max(1_000).optional() }).loose();
const backfillSchema = z.object({ from: z.union([z.iso.datetime({ offset: true }), z.number()]), to: z.union([z.iso.datetime({ offset: true }), z.number()]), overlap: overlapSchema.optional() });
const LATENCY_WINDOW = 10_000;

/** What the scheduler takes. */
export interface SchedulerOptions {
  submitter: () => TaskSubmitter;
  store: JobStore;
  pollMs: number;
  maxSubmitAttempts: number;
}

/**
 * The scheduler module's API: jobs (one actor each under `/system/scheduler`), created,
 * listed, paused, resumed, triggered, backfilled and deleted; and stats.
 *
 * @example
 * const s = node.module<Scheduler>('scheduler');
 * const job = await s.create({ name: 'nightly', schedule: { type: 'daily', hour: 2 }, task: { task_type: 'AGENT_RUN', payload: { agent: 'a', input: 'go' } } });
 */
export class Scheduler {
  private readonly views = new Map<string, JobState>();
  private readonly refs = new Map<string, ActorRef<JobMessage>>();
  private readonly late: number[] = [];
  private root?: Context;
  private readonly log: Logger;

  constructor(private readonly host: ModuleHost, private readonly options: SchedulerOptions) {
    this.log = host.logger.child({ module: 'scheduler' });
  }

  /** Spawn the actor of every stored job (at start). */
  restore(): number {
    const jobs = this.options.store.all((id, e) => this.log.error({ err: e, job: id }, 'could not restore a stored job'));
    for (const s of jobs) this.spawn(s);
    if (jobs.length > 0) this.log.info({ jobs: jobs.length }, 'scheduled jobs restored');
    return jobs.length;
  }

  /** Create a job: committed before this resolves; its actor arms its timer. */
  async create(body: unknown): Promise<JobView> {
    if (this.views.size >= MAX_JOBS) throw new TroupeError('TROUPE_ERR_SCHEDULER_FULL', `this node holds at most ${MAX_JOBS} jobs`);
    const def = parseJob(body, `job_${newId()}`, this.host.clock.now());
    const s = initialState(def);
    await this.options.store.put(s);
    this.spawn(s);
    return view(s);
  }

  list(filter: { status?: string } = {}): JobView[] {
    return [...this.views.values()].filter((s) => !filter.status || s.status === filter.status).map(view);
  }

  get(id: string): JobView {
    return view(this.state(id));
  }

  pause(id: string, body: unknown = {}): Promise<JobView> {
    const b = this.parse(noteSchema, body);
    return this.ask(id, { type: 'job.pause', ...(b.note !== undefined ? { note: b.note } : {}) });
  }

  resume(id: string, body: unknown = {}): Promise<JobView> {
    const b = this.parse(noteSchema, body);
    return this.ask(id, { type: 'job.resume', ...(b.note !== undefined ? { note: b.note } : {}) });
  }

  /** Fire now (nominal time = now), through the job's overlap policy. */
  trigger(id: string): Promise<JobView> {
    return this.ask(id, { type: 'job.trigger' });
  }

  /** Fire every nominal time in [from, to] (not past now), with `overlap` (default buffer-all). */
  backfill(id: string, body: unknown): Promise<JobView> {
    const b = this.parse(backfillSchema, body);
    const at = (v: string | number): number => (typeof v === 'number' ? v : Date.parse(v));
    return this.ask(id, { type: 'job.backfill', from: at(b.from), to: at(b.to), ...(b.overlap ? { overlap: b.overlap } : {}) });
  }

  /** A job's view once its actor has handled everything queued before this call. */
  refresh(id: string): Promise<JobView> {
    return this.ask(id, { type: 'job.get' });
  }

  /** The runtime says a fire's task ended (push; the job actors also poll). */
  taskSettled(jobId: string, taskId: string, status: 'completed' | 'failed' | 'cancelled'): void {
    const ref = this.refs.get(jobId);
    if (ref) this.host.tell(ref, { type: 'job.settled', taskId, status });
  }

  /** Stop a job and delete its record. */
  async remove(id: string): Promise<void> {
    this.state(id);
    const ref = this.refs.get(id)!;
    this.refs.delete(id);
    this.views.delete(id);
    await this.host.stop(ref);
    await this.options.store.remove(id);
  }

  /** `GET /api/v1/aoa/scheduler/stats`. */
  stats(): Record<string, unknown> {
    const by: Record<string, number> = { scheduled: 0, paused: 0, completed: 0 };
    const totals = { fired: 0, missed: 0, skipped: 0, dropped: 0, succeeded: 0, failed: 0 };
    let running = 0;
    let buffered = 0;
    for (const s of this.views.values()) {
      by[s.status] = (by[s.status] ?? 0) + 1;
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += s.counters[k];
      running += s.running.length;
      buffered += s.buffered.length;
    }
    const sorted = [...this.late].sort((a, b) => a - b);
    const q = (p: number): number | null => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null);
    return { jobs: this.views.size, by_status: by, ...totals, running, buffered, lateness_ms: { p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? null } };
  }

  /** The fire latenesses recorded (recent window), for the bench. */
  latenesses(): readonly number[] {
    return this.late;
  }

  private state(id: string): JobState {
    const s = this.views.get(id);
    if (!s) throw new TroupeError('TROUPE_ERR_SCHEDULER_JOB_NOT_FOUND', `no job ${id.slice(0, 100)}`);
    return s;
  }

  private async ask(id: string, m: JobMessage): Promise<JobView> {
    this.state(id);
    const s = await this.host.ask<JobState>(this.refs.get(id)!, m, { timeoutMs: 30_000 });
    return view(s);
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const r = schema.safeParse(body ?? {});
    if (!r.success) throw new TroupeError('TROUPE_ERR_SCHEDULER_INVALID_JOB', describeIssues(r.error), { details: { param: r.error.issues[0]?.path.join('.') ?? null } });
    return r.data;
  }

  private spawn(s: JobState): void {
    this.views.set(s.def.id, s);
    const ctx = this.schedulerRoot();
    const ref = ctx.spawn<unknown, JobMessage>({
      name: s.def.id,
      mailboxCapacity: 1_000,
      behaviour: jobBehaviour(s, {
        clock: this.host.clock,
        store: this.options.store,
        submitter: this.options.submitter,
        logger: this.log,
        pollMs: this.options.pollMs,
        maxSubmitAttempts: this.options.maxSubmitAttempts,
        changed: (next) => { if (this.refs.has(next.def.id)) this.views.set(next.def.id, structuredClone(next)); },
        lateness: (ms) => {
          this.late.push(ms);
          if (this.late.length > LATENCY_WINDOW) this.late.splice(0, this.late.length - LATENCY_WINDOW);
        },
      }) as never,
    });
    this.refs.set(s.def.id, ref);
  }

  /** `/system/scheduler`, the parent of the job actors (kept to spawn under it from outside a handler). */
  private schedulerRoot(): Context {
    if (this.root) return this.root;
    this.host.spawnSpec({
      name: 'scheduler',
      behaviour: { initial: (ctx) => { this.root = ctx; return undefined; }, receive: () => undefined },
      supervision: { strategy: 'one-for-one', maxRestarts: 1_000_000, withinMs: 1_000 },
    }, 'system');
    if (!this.root) throw new TroupeError('TROUPE_ERR_ACTOR_FAILED', '/system/scheduler did not start');
    return this.root;
  }
}

function iso(t: number | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}

/** The public view of a job's state. */
export function view(s: JobState): JobView {
  const d = s.def;
  const cal = new JobCalendar(d);
  const next = s.status === 'scheduled' ? cal.nextAfter(s.cursor) : undefined;
  return {
    id: d.id,
    name: d.name,
    ...(d.description !== undefined ? { description: d.description } : {}),
    schedule: { type: d.type, ...d.calendar, ...(d.startAt !== undefined ? { start_at: iso(d.startAt) } : {}), ...(d.endAt !== undefined ? { end_at: iso(d.endAt) } : {}) },
    status: s.status,
    ...(s.pauseNote !== undefined ? { pause_note: s.pauseNote } : {}),
    run_count: s.runCount,
    ...(d.maxRuns !== undefined ? { max_runs: d.maxRuns } : {}),
    next_run_at: next === undefined ? null : iso(next),
    last_run_at: iso(s.lastRunAt),
    policy: d.policy,
    counters: s.counters,
    running: s.running.length,
    buffered: s.buffered.length,
    fires: s.fires,
  };
}
