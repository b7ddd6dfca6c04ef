import { z } from 'zod';
import { parseOrThrow } from '../../protocol/index.js';
import type { NodeModule } from '../modules/index.js';
import { LmdbJobStore, MemoryJobStore } from './job-store.js';
import { schedulerRoutes } from './routes.js';
import { Scheduler } from './scheduler.js';
import { resolveSubmitter, type TaskSubmitter } from './submitter.js';
import { schedulerMcpTools } from './mcp-tools.js';

/** The scheduler module's name: `host.module<Scheduler>(SCHEDULER_MODULE)`. */
export const SCHEDULER_MODULE = 'scheduler';

const optionsSchema = z.strictObject({
  submitter: z.custom<TaskSubmitter>((v) => typeof v === 'object' && v !== null && typeof (v as TaskSubmitter).submitTask === 'function').optional(),
  pollMs: z.number().int().min(10).max(3_600_000).default(1_000),
  maxSubmitAttempts: z.number().int().min(1).max(100).default(8),
});

/** What the scheduler module starts with. */
export type SchedulerModuleOptions = z.input<typeof optionsSchema>;

/**
 * The scheduler as a node module: jobs persisted in LMDB (`schedules`), held by one actor,
 * whose fires submit tasks to the task runtime (the `aoa` module, or `submitter`), and the
 * `/api/v1/aoa/jobs` and `/api/v1/aoa/scheduler/stats` routes.
 *
 * @example
 * const node = await startNode({ modules: [...defaultModules(), schedulerModule({ submitter })] });
 */
export function schedulerModule(input: SchedulerModuleOptions = {}): NodeModule<Scheduler> {
  const o = parseOrThrow(optionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid scheduler options');
  return {
    name: SCHEDULER_MODULE,
    start: (host) => {
      const scheduler = new Scheduler(host, {
        submitter: resolveSubmitter(host, o.submitter),
        store: host.store ? new LmdbJobStore(host.store) : new MemoryJobStore(),
        pollMs: o.pollMs,
        maxSubmitAttempts: o.maxSubmitAttempts,
      });
      scheduler.restore();
      return { api: scheduler, routes: (table) => schedulerRoutes(table, scheduler), mcpTools: schedulerMcpTools(scheduler) };
    },
  };
}
