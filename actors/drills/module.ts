import type { AddressInfo } from 'node:net';
import type { NodeModule, RouteTable } from '../modules/index.js';
import { drillCommand } from './cli.js';
import { registerDrillRoutes } from './routes.js';
import { DrillRunner, type DrillsApi } from './runner.js';
import { DRILL_ACTOR, drillActor } from './drill-actor.js';
import { drillMcpTools } from './mcp-tools.js';

/**
 * The base URL the gateway the routes were mounted on listens at, once it listens: the route
 * table is the gateway's fastify instance (`addresses()`; `initialConfig.https` when TLS).
 */
function listeningUrl(table: RouteTable): string | undefined {
  const app = table as Partial<{ addresses(): AddressInfo[]; initialConfig: { https?: unknown } }>;
  if (typeof app.addresses !== 'function') return undefined;
  const a = app.addresses().find((x) => x.family === 'IPv4') ?? app.addresses()[0];
  if (!a) return undefined;
  // a wildcard listener is reached on loopback
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return `${app.initialConfig?.https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

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
      // a peer's kill-node drill ends this process as a crash would: SIGKILL, no cleanup
      host.spawnSpec({ name: DRILL_ACTOR, behaviour: drillActor(host, () => runner.enabled, () => process.kill(process.pid, 'SIGKILL')) }, 'system');
      return {
        api: runner,
        routes: (table) => {
          registerDrillRoutes(table, runner);
          runner.listenAt(() => listeningUrl(table));
        },
        mcpTools: drillMcpTools(runner),
        drain: () => runner.drain(),
      };
    },
  };
}
