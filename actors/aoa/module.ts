import { parseOrThrow } from '../../protocol/index.js';
import { LmdbTaskStore, MemoryTaskStore } from '../../storage/index.js';
import type { NodeModule } from '../modules/index.js';
import { aoaOptionsSchema, type AoaOptionsInput } from './options.js';
import { registerAoaRoutes } from './routes.js';
import { aoaMcpTools } from './mcp-tools.js';
import type { AoaApi } from './api.js';
import { AoaRuntime } from './runtime.js';
import type { TaskHandler } from './task.js';

/** The task runtime module's name: `host.module<AoaApi>(AOA_MODULE)`. */
export const AOA_MODULE = 'aoa';

/** What the aoa module starts with: the runtime's options and handlers for custom task types. */
export interface AoaModuleOptions extends AoaOptionsInput {
  handlers?: Record<string, TaskHandler>;
}

/**
 * The durable task runtime as a node module: tasks in LMDB (in memory without a data dir),
 * supervised worker actors, routes under `/api/v1/aoa/tasks`, `/metrics` and `/health`.
 *
 * @example
 * const node = await startNode({ modules: [...defaultModules(), aoaModule({ maxWorkers: 4, handlers: { PING: async () => 'pong' } })] });
 * await node.module<AoaApi>('aoa').submitTask({ task_type: 'PING' });
 */
export function aoaModule(options: AoaModuleOptions = {}): NodeModule<AoaApi> {
  const { handlers, ...rest } = options;
  const o = parseOrThrow(aoaOptionsSchema, rest, 'TROUPE_ERR_CONFIG_INVALID', 'invalid aoa options');
  return {
    name: AOA_MODULE,
    start: (host) => {
      const store = host.store ? new LmdbTaskStore(host.store) : new MemoryTaskStore();
      const runtime = new AoaRuntime(host, store, o);
      for (const [type, fn] of Object.entries(handlers ?? {})) runtime.registerHandler(type, fn);
      runtime.start();
      return {
        api: runtime,
        routes: (table) => registerAoaRoutes(table, runtime),
        mcpTools: aoaMcpTools(runtime),
        metrics: () => runtime.metricsRegistry.metrics(),
        drain: () => runtime.close(),
      };
    },
  };
}
