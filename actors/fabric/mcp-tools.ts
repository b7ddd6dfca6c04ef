import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import { fabricActionSchema } from './action.js';
import type { FabricApi } from './fabric.js';
import { FABRIC_PRESETS } from './presets.js';

/** The fabric's MCP tools: context, planes, set the preset, route and execute an action. */
export function fabricMcpTools(fabric: FabricApi): McpToolDescriptor<any>[] {
  return [
    { name: 'fabric_context', description: 'The active fabric preset, its primary plane, whether direct P2P is allowed, and the planes.', input: z.strictObject({}), call: async () => fabric.context() },
    { name: 'fabric_planes', description: 'The fabric planes with their health, breaker state and counters.', input: z.strictObject({}), call: async () => ({ planes: fabric.planes() }) },
    {
      name: 'fabric_set_preset', description: 'Set the active fabric preset (PRESET_1_FULL_ENTERPRISE ... PRESET_6_SCRAPPY).',
      input: z.strictObject({ preset: z.enum(FABRIC_PRESETS) }), call: async (i: { preset: string }) => fabric.setPreset(i),
    },
    {
      name: 'fabric_execute', description: 'Route an action (action_type, target_system) through a fabric plane under the active preset and execute it (dry_run: route only).',
      input: fabricActionSchema, call: async (a: z.input<typeof fabricActionSchema>, { signal }: { signal: AbortSignal }) => fabric.execute(a, { signal }),
    },
  ];
}
