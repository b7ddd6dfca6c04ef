import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import type { Scheduler } from './scheduler.js';

/** The scheduler's MCP tools: list, get, create and trigger jobs, as `/api/v1/aoa/jobs` does. */
export function schedulerMcpTools(scheduler: Scheduler): McpToolDescriptor<any>[] {
  const list: McpToolDescriptor<{ status?: string }> = {
    name: 'scheduler_list_jobs',
    description: 'List scheduled jobs (optionally by status: scheduled, paused, completed).',
    input: z.object({ status: z.enum(['scheduled', 'paused', 'completed']).optional() }),
    call: async ({ status }) => ({ jobs: scheduler.list(status ? { status } : {}) }),
  };
  const get: McpToolDescriptor<{ id: string }> = {
    name: 'scheduler_get_job',
    description: 'A scheduled job with its recent fires and outcomes.',
    input: z.object({ id: z.string().min(1).max(128) }),
    call: async ({ id }) => scheduler.get(id),
  };
  const create: McpToolDescriptor<{ job: Record<string, unknown> }> = {
    name: 'scheduler_create_job',
    description: 'Schedule a job ({ name, schedule, task, policy? } as POST /api/v1/aoa/jobs).',
    input: z.object({ job: z.record(z.string(), z.unknown()) }),
    call: ({ job }) => scheduler.create(job),
  };
  const trigger: McpToolDescriptor<{ id: string }> = {
    name: 'scheduler_trigger_job',
    description: 'Fire a job now, through its overlap policy.',
    input: z.object({ id: z.string().min(1).max(128) }),
    call: ({ id }) => scheduler.trigger(id),
  };
  return [list, get, create, trigger];
}
