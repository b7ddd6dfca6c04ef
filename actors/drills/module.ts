import type { NodeModule } from '../modules/index.js';
import { drillCommand } from './cli.js';
import { registerDrillRoutes } from './routes.js';
import { drillsMcpTools } from './mcp-tools.js';
import { DrillRunner, type DrillsApi } from './runner.js';

/** The drills module's name: `node.module<DrillsApi>(DRILLS_MODULE)`. */
export const DRILLS_MODULE = 'drills';

/** What the drills module starts with. */
export interface DrillsModuleOptions {
  /** Drills run only on nodes that allow them (`--allow-drills`, TROUPE_ALLOW_DRILLS, config `allowDrills`). Default false. */
  allow?: boolean;
}

/**
 * Fault drills as a node module: the {@link DrillsApi}, routes under /api/v1/drills and the
 * `troupe drill` command. Refuses every drill unless `allow` is true.
 *
 * @example
 * const node = await startNode({ allowDrills: true });
 * const report = node.module<DrillsApi>(DRILLS_MODULE).start({ kind: 'crash', target: 'user/worker' });
 */
export function drillsModule(options: DrillsModuleOptions = {}): NodeModule<DrillsApi> {
  return {
    name: DRILLS_MODULE,
    commands: [drillCommand],
    start: (host) => {
      const runner = new DrillRunner(host, options.allow === true);
      return {
        api: runner,
        routes: (table) => registerDrillRoutes(table, runner),
        mcpTools: drillsMcpTools(runner),
        drain: () => runner.drain(),
      };
    },
  };
}
