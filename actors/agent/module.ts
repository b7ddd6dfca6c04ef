import type { AuditApi } from '../audit/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { NodeModule } from '../modules/index.js';
import type { AgentRunner } from './registry.js';
import { AgentRegistry, type AgentRegistryOptions } from './registry.js';
import type { AgentSpecInput } from './spec.js';
import type { AgentTool } from './tools.js';
import { queueMetrics } from './queue-metrics.js';
import { upstreamMetrics } from './upstream/metrics.js';

/** The agents module's name: `host.module<AgentRegistry>(AGENTS_MODULE)`. */
export const AGENTS_MODULE = 'agents';

/** What the agents module starts with. */
export interface AgentsModuleOptions extends AgentRegistryOptions {
  /** Code tools that agent specs (HTTP-created ones included) may name; registered before any agent starts. */
  tools?: AgentTool[];
  /** Agents to spawn at start, after the persisted ones come back (the config file's `agents`). */
  agents?: AgentSpecInput[];
}

/**
 * The agents as a node module: the {@link AgentRegistry} (its API), the agent directory,
 * and the `agent` targets of the gateway actor, which it requires (runs go through it).
 *
 * @example
 * const node = await startNode({ modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } })] });
 * node.module<AgentRegistry>(AGENTS_MODULE).spawn({ name: 'helper' });
 */
export function agentsModule(options: AgentsModuleOptions = {}): NodeModule<AgentRegistry> {
  const { tools, agents, ...registryOptions } = options;
  return {
    name: AGENTS_MODULE,
    requires: ['gateway'],
    start: (host) => {
      const gateway = host.module<AgentRunner & { addResolver(kind: 'agent', resolve: (name: string) => ActorRef | Promise<ActorRef>): void }>('gateway');
      const registry = new AgentRegistry(host, () => gateway, registryOptions);
      gateway.addResolver('agent', (name) => registry.target(name));
      // the audit module starts later; it is looked up when an agent is created or removed
      registry.audited = (e) => (host.hasModule('audit')
        ? host.module<AuditApi>('audit').record({ action: e.action, actor: 'agents', target: e.agent, agent: e.agent, ...(e.spec !== undefined ? { payload: e.spec } : {}) })
        : Promise.resolve());
      // Agents first: durable messages and requests that arrive once peers and HTTP are up find them.
      for (const t of tools ?? []) registry.registerTool(t);
      registry.restore();
      for (const spec of agents ?? []) {
        if (spec && typeof spec === 'object' && typeof spec.name === 'string' && registry.get(spec.name)) {
          host.logger.warn({ agent: spec.name }, 'an agent created over HTTP has the name of a config agent; keeping the persisted one');
          continue;
        }
        registry.spawn(spec);
      }
      const metrics = upstreamMetrics(() => registry.names().flatMap((n) => {
        const g = registry.upstream(n);
        return g ? [[n, g.state()] as [string, ReturnType<typeof g.state>]] : [];
      }));
      const queue = queueMetrics(registry.events);
      const both = async (): Promise<string> => {
        const [upstream, queued] = await Promise.all([metrics(), queue()]);
        return upstream === '' || upstream.endsWith('\n') ? upstream + queued : `${upstream}\n${queued}`;
      };
      // no idle sweep once the node stops accepting work
      return { api: registry, metrics: both, drain: () => registry.close() };
    },
  };
}
