import { parseOrThrow } from '../../protocol/index.js';
import type { AoaApi } from '../aoa/index.js';
import type { NodeModule } from '../modules/index.js';
import { FabricMesh, type FabricApi } from './fabric.js';
import { fabricOptionsSchema, type FabricOptionsInput } from './options.js';
import { registerFabricRoutes } from './routes.js';
import { fabricMcpTools } from './mcp-tools.js';

/** The fabric module's name: `host.module<FabricApi>(FABRIC_MODULE)`. */
export const FABRIC_MODULE = 'fabric';

/**
 * The fabric plane mesh as a node module (seed 000 §4): plane actors with HTTP or simulation
 * connectors, the ActionRouter under the active preset, routes under `/api/v1/fabric/*`,
 * and the FABRIC_ACTION task handler of the task runtime when the node runs aoa.
 *
 * @example
 * const node = await startNode({ modules: [...defaultModules()] });
 * await node.module<FabricApi>('fabric').execute({ action_type: 'workflow', target_system: 'netsuite' });
 */
export function fabricModule(options: FabricOptionsInput = {}): NodeModule<FabricApi> {
  const o = parseOrThrow(fabricOptionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid fabric options');
  return {
    name: FABRIC_MODULE,
    start: (host) => {
      const fabric = new FabricMesh(host, o);
      if (host.hasModule('aoa')) {
        const aoa = host.module<AoaApi>('aoa');
        // every task (a scheduled job's too) is committed with the fabric context; a
        // FABRIC_ACTION task with the plane its action is routed to
        aoa.addSubmitHook((task) => fabric.enrich(task, task.task_type === 'FABRIC_ACTION' ? actionOf(task) : undefined));
        aoa.registerHandler('FABRIC_ACTION', async ({ task, signal }) => fabric.execute({ ...actionOf(task), correlation_id: task.id } as never, { signal }));
      }
      return { api: fabric, routes: (table) => registerFabricRoutes(table, fabric), metrics: () => fabric.metrics.registry.metrics(), mcpTools: fabricMcpTools(fabric) };
    },
  };
}

/** A FABRIC_ACTION task's action: its payload, with the task's own action fields where the payload has none. */
function actionOf(task: { payload?: unknown; action_type?: string | undefined; target_system?: string | undefined; agent_id?: string | undefined }): Record<string, unknown> {
  const payload = (task.payload && typeof task.payload === 'object' && !Array.isArray(task.payload) ? task.payload : {}) as Record<string, unknown>;
  return {
    ...payload,
    ...(payload['action_type'] === undefined && task.action_type !== undefined ? { action_type: task.action_type } : {}),
    ...(payload['target_system'] === undefined && task.target_system !== undefined ? { target_system: task.target_system } : {}),
    ...(payload['agent_id'] === undefined && task.agent_id !== undefined ? { agent_id: task.agent_id } : {}),
  };
}
