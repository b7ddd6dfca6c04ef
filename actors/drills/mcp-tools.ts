import { z } from 'zod';
import { drillRequestSchema } from '../../supervisors/index.js';
import type { McpToolDescriptor } from '../modules/index.js';
import type { DrillsApi } from './runner.js';

/**
 * The drills as MCP tools (served by the MCP module through the module contract): start a
 * drill and wait for its report, list reports, abort one. The same checks as the routes:
 * refused unless the node allows drills.
 *
 * @example const tools = drillMcpTools(node.module<DrillsApi>('drills'));
 */
export function drillMcpTools(api: DrillsApi): McpToolDescriptor<any>[] {
  const run: McpToolDescriptor<z.input<typeof drillRequestSchema>> = {
    name: 'drill_run',
    description: 'Run a fault drill (crash, kill, poison, flood, restart-storm, upstream, partition, kill-node, storage, slow-client) on a named target of this node and return its report once it ends. Needs a node started with --allow-drills.',
    input: drillRequestSchema as unknown as z.ZodType<z.input<typeof drillRequestSchema>>,
    call: async (input, { signal }) => {
      const started = api.start(input);
      const onAbort = (): void => void api.abort(started.id);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await api.finished(started.id);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
  const list: McpToolDescriptor<Record<string, never>> = {
    name: 'drills_list',
    description: "This node's drill reports, newest first, and whether drills are enabled.",
    input: z.strictObject({}),
    call: async () => ({ enabled: api.enabled, drills: api.list() }),
  };
  const abort: McpToolDescriptor<{ id: string }> = {
    name: 'drill_abort',
    description: 'Abort a running drill by id.',
    input: z.strictObject({ id: z.string().min(1).max(64) }),
    call: async ({ id }) => ({ id, aborted: api.abort(id) }),
  };
  return [run, list, abort];
}
