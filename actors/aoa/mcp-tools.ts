import { z } from 'zod';
import { STORED_TASK_STATUSES } from '../../storage/index.js';
import type { McpToolDescriptor } from '../modules/index.js';
import type { AoaApi } from './api.js';

const id = z.object({ id: z.string().min(1).max(128).describe('the task id') });

/**
 * The task runtime's MCP tools (served at `/mcp` and by `troupe mcp`): submit, get, list and
 * cancel tasks, with the bodies and errors of `/api/v1/aoa/tasks`.
 */
export function aoaMcpTools(api: AoaApi): McpToolDescriptor<any>[] {
  const submit: McpToolDescriptor<{ task: Record<string, unknown> }> = {
    name: 'aoa_submit_task',
    description: 'Submit a task to the durable task runtime ({ task_type, payload, priority?, scheduled_at?, idempotency_key?, ... } as POST /api/v1/aoa/tasks).',
    input: z.object({ task: z.record(z.string(), z.unknown()).describe('the task body') }),
    call: ({ task }) => api.submitTask(task as never),
  };
  const get: McpToolDescriptor<{ id: string }> = {
    name: 'aoa_get_task',
    description: 'A task of the task runtime: status, attempts, result or error.',
    input: id,
    call: async ({ id: taskId }) => api.getTask(taskId),
  };
  const list: McpToolDescriptor<{ status?: (typeof STORED_TASK_STATUSES)[number]; task_type?: string; limit?: number; after?: string }> = {
    name: 'aoa_list_tasks',
    description: 'List tasks of the task runtime, optionally by status or task type, paged.',
    input: z.object({
      status: z.enum(STORED_TASK_STATUSES).optional(),
      task_type: z.string().max(128).optional(),
      limit: z.number().int().min(1).max(1000).optional(),
      after: z.string().max(128).optional(),
    }),
    call: async ({ status, task_type, limit, after }) => api.listTasks(
      { ...(status ? { status } : {}), ...(task_type ? { task_type } : {}) },
      { ...(limit ? { limit } : {}), ...(after ? { after } : {}) },
    ),
  };
  const cancel: McpToolDescriptor<{ id: string }> = {
    name: 'aoa_cancel_task',
    description: 'Cancel a queued or running task (a running attempt is aborted).',
    input: id,
    call: ({ id: taskId }) => api.cancelTask(taskId),
  };
  return [submit, get, list, cancel];
}
