import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, newId, describeIssues } from '../../protocol/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { MAX_JOBS, overlapSchema, parseJob } from './job-spec.js';
import { initialState, type JobState } from './job-state.js';
import type { JobStore } from './job-store.js';
import { JobCalendar } from './calendar.js';
import { JobTable } from './job-table.js';
import { schedulerBehaviour, type SchedulerMessage } from './scheduler-actor.js';
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
 * The scheduler module's API: jobs held by one scheduler actor (`/system/scheduler`) with one
 * timer for all of them (see {@link JobTable}); created, listed, paused, resumed, triggered,
 * backfilled and deleted; and stats.
 *
 * @example
 * const s = node.module<Scheduler>('scheduler');
 * const job = await s.create({ name: 'nightly', schedule: { type: 'daily', hour: 2 }, task: { task_type: 'AGENT_RUN', payload: { agent: 'a', input: 'go' } } });
 */
export class Scheduler {
  private readonly table: JobTable;
  private readonly late: number[] = [];
  private readonly fireLate: number[] = [];
  private ref?: ActorRef<SchedulerMessage>;
  /** A `sched.arm` is in the actor's mailbox (one is enough, however many jobs were added). */
  private armQueued = false;
  private readonly log: Logger;

  constructor(private readonly host: ModuleHost, private readonly options: SchedulerOptions) {
    this.log = host.logger.child({ module: 'scheduler' });
    this.table = new JobTable({
      clock: host.clock,
      store: options.store,
      submitter: options.submitter,
      logger: this.log,
      pollMs: options.pollMs,
      maxSubmitAttempts: options.maxSubmitAttempts,
      lateness: (ms) => keep(this.late, ms),
      fired: (ms) => keep(this.fireLate, ms),
    });
  }

  /** Load every stored job (each due at once: its catch-up is decided) and start the actor. */
  restore(): number {
    const jobs = this.options.store.all((id, e) => this.log.error({ err: e, job: id }, 'could not restore a stored job'));
    const now = this.host.clock.now();
    for (const s of jobs) this.table.add(s, now, true);
    this.actor();
    if (jobs.length > 0) this.log.info({ jobs: jobs.length }, 'scheduled jobs restored');
    return jobs.length;
  }

  /** Create a job: committed before this resolves; the scheduler actor decides it at once. */
  async create(body: unknown): Promise<JobView> {
    if (this.table.size >= MAX_JOBS) throw new TroupeError('TROUPE_ERR_SCHEDULER_FULL', `this node holds at most ${MAX_JOBS} jobs`);
    const def = parseJob(body, `job_${newId()}`, this.host.clock.now());
    const s = initialState(def);
    await this.options.store.put(s);
    const e = this.table.add(s, this.host.clock.now(), false);
    this.rearm();
    return view(e.s, e.cal);
  }

  list(filter: { status?: string } = {}): JobView[] {
    const out: JobView[] = [];
    for (const e of this.table.entries.values()) if (!filter.status || e.s.status === filter.status) out.push(view(e.s, e.cal));
    return out;
  }

  get(id: string): JobView {
    this.state(id);
    const e = this.table.entries.get(id)!;
    return view(e.s, e.cal);
  }

  pause(id: string, body: unknown = {}): Promise<JobView> {
    const b = this.parse(noteSchema, body);
    return this.ask({ type: 'job.pause', id, ...(b.note !== undefined ? { note: b.note } : {}) });
  }

  resume(id: string, body: unknown = {}): Promise<JobView> {
    const b = this.parse(noteSchema, body);
    return this.ask({ type: 'job.resume', id, ...(b.note !== undefined ? { note: b.note } : {}) });
  }

  /** Fire now (nominal time = now), through the job's overlap policy. */
  trigger(id: string): Promise<JobView> {
    return this.ask({ type: 'job.trigger', id });
  }

  /** Fire every nominal time in [from, to] (not past now), with `overlap` (default buffer-all). */
  backfill(id: string, body: unknown): Promise<JobView> {
    const b = this.parse(backfillSchema, body);
    const at = (v: string | number): number => (typeof v === 'number' ? v : Date.parse(v));
    return this.ask({ type: 'job.backfill', id, from: at(b.from), to: at(b.to), ...(b.overlap ? { overlap: b.overlap } : {}) });
  }

  /** A job's view once the scheduler actor has handled everything queued before this call. */
  refresh(id: string): Promise<JobView> {
    return this.ask({ type: 'job.get', id });
  }

  /** The runtime says a fire's task ended (push; the scheduler also polls). */
  taskSettled(jobId: string, taskId: string, status: 'completed' | 'failed' | 'cancelled'): void {
    if (this.ref && this.table.entries.has(jobId)) this.host.tell(this.ref, { type: 'job.settled', id: jobId, taskId, status });
  }

  /** Stop a job and delete its record. */
  async remove(id: string): Promise<void> {
    this.state(id);
    await this.host.ask(this.actor(), { type: 'job.remove', id }, { timeoutMs: 30_000 });
  }

  /** `GET /api/v1/aoa/scheduler/stats`. */
  stats(): Record<string, unknown> {
    const by: Record<string, number> = { scheduled: 0, paused: 0, completed: 0 };
    const totals = { fired: 0, missed: 0, skipped: 0, dropped: 0, succeeded: 0, failed: 0 };
    let running = 0;
    let buffered = 0;
    for (const { s } of this.table.entries.values()) {
      by[s.status] = (by[s.status] ?? 0) + 1;
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += s.counters[k];
      running += s.running.length;
      buffered += s.buffered.length;
    }
    return { jobs: this.table.size, by_status: by, ...totals, running, buffered, lateness_ms: summary(this.fireLate), enqueue_lateness_ms: summary(this.late) };
  }

  /**
   * Recent fire latenesses (at least the last 10,000), for the bench: `fire` from the nominal
   * time to the wake that decided the fire, `enqueue` to its task committed in the runtime.
   */
  latenesses(kind: 'fire' | 'enqueue' = 'enqueue'): readonly number[] {
    return kind === 'fire' ? this.fireLate : this.late;
  }

  private state(id: string): JobState {
    const e = this.table.entries.get(id);
    if (!e) throw new TroupeError('TROUPE_ERR_SCHEDULER_JOB_NOT_FOUND', `no job ${id.slice(0, 100)}`);
    return e.s;
  }

  private async ask(m: SchedulerMessage & { id: string }): Promise<JobView> {
    this.state(m.id);
    const s = await this.host.ask<JobState>(this.actor(), m, { timeoutMs: 30_000 });
    return view(s);
  }

  private parse<T>(schema: z.ZodType<T>, body: unknown): T {
    const r = schema.safeParse(body ?? {});
    if (!r.success) throw new TroupeError('TROUPE_ERR_SCHEDULER_INVALID_JOB', describeIssues(r.error), { details: { param: r.error.issues[0]?.path.join('.') ?? null } });
    return r.data;
  }

  /** Have the actor re-arm its timer (a job was added outside it). */
  private rearm(): void {
    if (this.armQueued) return;
    this.armQueued = true;
    this.host.tell(this.actor(), { type: 'sched.arm' });
  }

  /** `/system/scheduler`, spawned once. */
  private actor(): ActorRef<SchedulerMessage> {
    if (this.ref) return this.ref;
    this.ref = this.host.spawnSpec({
      name: 'scheduler',
      mailboxCapacity: 10_000,
      behaviour: schedulerBehaviour(this.table, this.host.clock, () => { this.armQueued = false; }),
    }, 'system') as ActorRef<SchedulerMessage>;
    return this.ref;
  }
}

function keep(window: number[], ms: number): void {
  window.push(ms);
  if (window.length > LATENCY_WINDOW * 2) window.splice(0, window.length - LATENCY_WINDOW);
}

function summary(window: number[]): { p50: number | null; p99: number | null; max: number | null } {
  const sorted = window.slice(-LATENCY_WINDOW).sort((a, b) => a - b);
  const q = (p: number): number | null => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null);
  return { p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? null };
}

function iso(t: number | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}

/** The public view of a job's state. */
export function view(s: JobState, cal: JobCalendar = new JobCalendar(s.def)): JobView {
  const d = s.def;
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
    counters: { ...s.counters },
    running: s.running.length,
    buffered: s.buffered.length,
    fires: s.fires.map((f) => ({ ...f })),
  };
}
