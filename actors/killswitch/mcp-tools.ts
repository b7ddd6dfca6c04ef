import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import { killSwitchRequestSchema, KILLSWITCH_SCOPES } from './record.js';
import type { KillSwitchApi } from './switchboard.js';

/**
 * The kill switch as MCP tools (served by the MCP module through the module contract):
 * engage, release, list. Engaging logs the caller as `mcp` beside the `by` it gives.
 *
 * @example const tools = killSwitchMcpTools(node.module<KillSwitchApi>('killswitch'));
 */
export function killSwitchMcpTools(api: KillSwitchApi): McpToolDescriptor<any>[] {
  const engage: McpToolDescriptor<z.infer<typeof killSwitchRequestSchema>> = {
    name: 'killswitch_engage',
    description: 'Engage a kill switch (scope agent, tree, node or cluster): runs in flight on the covered agents are cancelled now and new runs refused until it is released.',
    input: killSwitchRequestSchema,
    call: (input) => api.engage(input, 'mcp'),
  };
  const release: McpToolDescriptor<{ scope: (typeof KILLSWITCH_SCOPES)[number]; target?: string; by?: string }> = {
    name: 'killswitch_release',
    description: 'Release an engaged kill switch by scope and target.',
    input: z.strictObject({ scope: z.enum(KILLSWITCH_SCOPES), target: z.string().min(1).max(512).optional(), by: z.string().min(1).max(128).optional() }),
    call: async (input) => ({ released: await api.release(input, 'mcp') }),
  };
  const list: McpToolDescriptor<Record<string, never>> = {
    name: 'killswitch_list',
    description: 'The engaged kill switches of this node.',
    input: z.strictObject({}),
    call: async () => ({ switches: api.list() }),
  };
  return [engage, release, list];
}
