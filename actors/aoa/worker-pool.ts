import type { Logger } from 'pino';
import type { ModuleHost } from '../modules/index.js';
import type { Worker } from './api.js';
import type { AoaMetrics } from './metrics.js';
import type { AoaOptions } from './options.js';
import type { TaskQueue } from './queue.js';
import { workerBehaviour } from './worker.js';

/**
 * The elastic pool of supervised worker actors (`/system/aoa-worker-N`): between
 * `minWorkers` and `maxWorkers`, one scale decision every `scaleIntervalMs` on the node's
 * clock. The runtime hands attempts to its idle workers.
 */
export class WorkerPool {
  readonly workers: Worker[] = [];
  /** The idle ones, most recently idle last (taken first, so the others idle long enough to be stopped). */
  private readonly idleWorkers: Worker[] = [];
  private seq = 0;
  private tick: unknown;
  private stopped = false;

  constructor(
    private readonly host: ModuleHost,
    private readonly options: AoaOptions,
    private readonly queue: TaskQueue,
    private readonly metrics: AoaMetrics,
    private readonly log: Logger,
    /** A worker was added while work waits: hand it some. */
    private readonly onScaledUp: () => void,
  ) {}

  /** Start the minimum of workers and the scale timer. */
  start(): void {
    for (let i = 0; i < this.options.minWorkers; i++) this.add('start');
    this.scheduleTick();
  }

  stop(): void {
    this.stopped = true;
    this.host.clock.clearTimeout(this.tick);
  }

  /** An idle worker, marked busy; undefined when all are busy. */
  take(): Worker | undefined {
    const w = this.idleWorkers.pop();
    if (w) w.busy = true;
    return w;
  }

  /** A worker's attempt ended: it is idle again (only idle workers are stopped, so it is still in the pool). */
  release(w: Worker, now: number): void {
    if (!w.busy) return;
    w.busy = false;
    w.idleSince = now;
    this.idleWorkers.push(w);
  }

  /** Workers running an attempt. */
  busyCount(): number {
    return this.workers.length - this.idleWorkers.length;
  }

  /** One scale decision: up on ready work waiting with no idle worker, down on a long-idle worker above the minimum. */
  autoscale(): void {
    const now = this.host.clock.now();
    const idle = this.idleWorkers;
    const ready = this.queue.readyCount(now);
    if (ready > 0 && idle.length === 0 && this.workers.length < this.options.maxWorkers && this.queue.oldestWaitMs(now) >= this.options.scaleUpWaitMs) {
      this.add(`queue depth ${ready}`);
      this.onScaledUp();
      return;
    }
    if (ready === 0 && this.workers.length > this.options.minWorkers) {
      const victim = idle.find((w) => now - w.idleSince >= this.options.scaleDownIdleMs);
      if (victim) {
        this.workers.splice(this.workers.indexOf(victim), 1);
        idle.splice(idle.indexOf(victim), 1);
        void this.host.stop(victim.ref).catch(() => undefined);
        this.metrics.count('scaled_down');
        this.log.info({ workers: this.workers.length }, 'aoa worker pool scaled down');
      }
    }
  }

  private add(reason: string): void {
    const name = `aoa-worker-${++this.seq}`;
    const ref = this.host.spawnSpec({ name, behaviour: workerBehaviour, restart: 'permanent' }, 'system');
    const w: Worker = { ref, busy: false, idleSince: this.host.clock.now() };
    this.workers.push(w);
    this.idleWorkers.push(w);
    if (reason !== 'start') {
      this.metrics.count('scaled_up');
      this.log.info({ workers: this.workers.length, reason }, 'aoa worker pool scaled up');
    }
  }

  private scheduleTick(): void {
    this.tick = this.host.clock.setTimeout(() => {
      if (this.stopped) return;
      this.autoscale();
      this.scheduleTick();
    }, this.options.scaleIntervalMs);
  }
}
