import { ManualClock } from '../../protocol/index.js';
import { startNode, type RunningNode } from '../../index.js';
import { gatewayModule, schedulerModule, type Scheduler, type TaskSubmitter } from '../../actors/index.js';
import { silent } from '../helpers.js';

/** A ManualClock that can say when its next timer is due. */
export class SteppingClock extends ManualClock {
  nextDue(): number | undefined {
    const timers = (this as unknown as { timers: Array<{ at: number }> }).timers;
    return timers.length === 0 ? undefined : Math.min(...timers.map((t) => t.at));
  }
}

/** A recorded submission. */
export interface Submitted { key: string; id: string; at: number; body: Record<string, unknown> }

/**
 * A task runtime twin: dedups submits by idempotency key (as aoa does), records every
 * accepted task and its submit time, and keeps task statuses the test sets.
 */
export class RecordingSubmitter implements TaskSubmitter {
  readonly tasks = new Map<string, Submitted>();
  readonly status = new Map<string, string>();
  readonly cancelled: string[] = [];
  calls = 0;
  constructor(private readonly clock: { now(): number }, private readonly initialStatus = 'completed') {}

  async submitTask(body: Record<string, unknown> & { idempotency_key: string }): Promise<{ id: string }> {
    this.calls++;
    const known = this.tasks.get(body.idempotency_key);
    if (known) return { id: known.id };
    const id = `task-${this.tasks.size + 1}`;
    this.tasks.set(body.idempotency_key, { key: body.idempotency_key, id, at: this.clock.now(), body });
    this.status.set(id, this.initialStatus);
    return { id };
  }

  async getTask(id: string): Promise<{ id: string; status: string } | undefined> {
    const s = this.status.get(id);
    return s === undefined ? undefined : { id, status: s };
  }

  async cancelTask(id: string): Promise<void> {
    this.cancelled.push(id);
    this.status.set(id, 'cancelled');
  }

  keys(): string[] {
    return [...this.tasks.keys()];
  }
}

export async function schedulerNode(clock: ManualClock, submitter: TaskSubmitter, options: { dataDir?: string; http?: boolean } = {}): Promise<RunningNode> {
  return startNode({
    id: 'sched',
    logger: silent,
    clock,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    http: options.http ? { port: 0 } : false,
    modules: [gatewayModule(), schedulerModule({ submitter, pollMs: 1_000 })],
  });
}

export function schedulerOf(n: RunningNode): Scheduler {
  return n.module<Scheduler>('scheduler');
}

/** Let every job actor finish what it has queued. */
export async function quiesce(s: Scheduler): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    await Promise.all(s.list().map((j) => s.refresh(j.id)));
  }
}

/** Move the clock to `target`, stopping at every timer so each fires at its time. */
export async function runUntil(clock: SteppingClock, s: Scheduler, target: number): Promise<void> {
  for (let guard = 0; guard < 100_000; guard++) {
    await quiesce(s);
    const next = clock.nextDue();
    if (next === undefined || next > target) break;
    clock.advance(Math.max(0, next - clock.now()));
  }
  if (target > clock.now()) clock.advance(target - clock.now());
  await quiesce(s);
}
