import type { AgentRegistry } from '../agent/index.js';
import { AGENTS_MODULE } from '../agent/index.js';
import type { NodeModule } from '../modules/index.js';
import { killSwitchBehaviour } from './actor.js';
import { registerKillSwitchRoutes } from './routes.js';
import { killSwitchMcpTools } from './mcp-tools.js';
import { KILLSWITCH_ACTOR, Switchboard, type KillSwitchApi } from './switchboard.js';

/** The kill switch module's name: `node.module<KillSwitchApi>(KILLSWITCH_MODULE)`. */
export const KILLSWITCH_MODULE = 'killswitch';

/**
 * Kill switches as a node module: the {@link KillSwitchApi}, routes under /api/v1/killswitch
 * and `/system/killswitch` (cluster-scope switches from other nodes). Requires the agents.
 *
 * @example
 * await node.module<KillSwitchApi>(KILLSWITCH_MODULE).engage({ scope: 'agent', target: 'helper', reason: 'runaway' });
 */
export function killSwitchModule(): NodeModule<KillSwitchApi> {
  return {
    name: KILLSWITCH_MODULE,
    requires: [AGENTS_MODULE],
    start: (host) => {
      let board: Switchboard | undefined;
      host.spawnSpec({ name: KILLSWITCH_ACTOR, behaviour: killSwitchBehaviour(() => board) }, 'system');
      board = new Switchboard(host, host.module<AgentRegistry>(AGENTS_MODULE));
      const api = board;
      return {
        api,
        routes: (table) => registerKillSwitchRoutes(table, api),
        mcpTools: killSwitchMcpTools(api),
        release: () => api.close(),
      };
    },
  };
}
