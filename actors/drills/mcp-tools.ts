import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import type { DrillsApi } from './runner.js';

/** The drills' MCP tools: list reports, start a drill (on a node that allows drills), abort one. */
export function drillsMcpTools(api: DrillsApi): McpToolDescriptor<any>[] {
  const list: McpToolDescriptor<Record<string, never>> = {
    name: 'drills_list',
    description: 'Fault drill reports on this node, newest first, and whether drills are enabled.',
    input: z.object({}),
    call: async () => ({ enabled: api.enabled, drills: api.list() }),
  };
  const start: McpToolDescriptor<{ drill: Record<string, unknown> }> = {
    name: 'drill_start',
    description: 'Start a fault drill ({ kind, target, durationMs?, rate? } as POST /api/v1/drills); refused unless the node allows drills.',
    input: z.object({ drill: z.record(z.string(), z.unknown()) }),
    call: async ({ drill }) => api.start(drill),
  };
  const abort: McpToolDescriptor<{ id: string }> = {
    name: 'drill_abort',
    description: 'Abort a running drill.',
    input: z.object({ id: z.string().min(1).max(64) }),
    call: async ({ id }) => ({ id, aborted: api.abort(id) }),
  };
  return [list, start, abort];
}
