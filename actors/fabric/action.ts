import { z } from 'zod';
import { ACTION_TYPE_NAMES } from './presets.js';
import { targetSystemSchema } from './options.js';

/** Largest `data` of an action, as JSON. */
export const MAX_ACTION_DATA_BYTES = 256 * 1024;

/**
 * An action to route and execute (`POST /api/v1/fabric/actions`, a FABRIC_ACTION task's
 * payload, `fabric.execute`). `plane_id` asks for one plane; `direct` asks to skip the planes
 * (refused outside PRESET_6_SCRAPPY); `dry_run` routes without executing.
 *
 * @example
 * fabricActionSchema.parse({ action_type: 'write_data', target_system: 'salesforce', entity_id: 'acct-1', data: { name: 'A' } });
 */
export const fabricActionSchema = z.looseObject({
  action_type: z.enum(ACTION_TYPE_NAMES as [string, ...string[]]),
  target_system: targetSystemSchema,
  entity_id: z.string().min(1).max(256).optional(),
  data: z.unknown().optional().refine((d) => d === undefined || JSON.stringify(d).length <= MAX_ACTION_DATA_BYTES, `data over ${MAX_ACTION_DATA_BYTES} bytes as JSON`),
  plane_id: z.string().min(1).max(64).optional(),
  direct: z.boolean().default(false),
  dry_run: z.boolean().default(false),
  agent_id: z.string().min(1).max(256).optional(),
  correlation_id: z.string().min(1).max(256).optional(),
});
export type FabricActionInput = z.input<typeof fabricActionSchema>;
export type FabricAction = z.output<typeof fabricActionSchema>;

/** Where the router sent an action. */
export interface RoutedAction {
  action_id: string;
  action_type: string;
  target_system: string;
  fabric_preset: string;
  /** The plane that carries it (Primary_Plane_ID of the action); `direct` planes only under SCRAPPY. */
  primary_plane_id: string;
  plane_kind: string;
  direct: boolean;
}
