import { TroupeError, parseOrThrow } from '../../../protocol/index.js';
import type { AgentOrigin, AgentRegistry, AgentSpecData } from '../../agent/index.js';
import type { NodeModule } from '../../modules/index.js';
import type { PiiGuard } from '../../pii/index.js';
import { externalAgentsOptionsSchema, type ExternalAgentsOptions, type ExternalAgentsOptionsInput } from './options.js';
import { checkUrlNow } from './outbound.js';
import { A2AProxyProvider } from './proxy-provider.js';
import { forgetThreads } from './threads.js';
import { conversationOf } from './conversation.js';
import type { TaskCanceledListener } from '../cancels.js';

/** The external agents module's name. */
export const EXTERNAL_AGENTS_MODULE = 'a2a-external';

/** The module's API: its options, as validated. */
export interface ExternalAgentsApi {
  readonly options: ExternalAgentsOptions;
}

/**
 * External A2A agents as a node module: an agent spec with `a2a: { url, headers? }` (config
 * file or `POST /api/v1/agents`) is an ordinary agent whose model provider is an
 * {@link A2AProxyProvider}, so `/v1/chat/completions`, `/api/v1/agents/:name/run`, A2A calls
 * to `/a2a/<name>` and delegation use it like any other agent. Registered with the agents
 * module as the provider kind `a2a`; a URL whose literal address the outbound policy refuses
 * refuses the spec (TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED), names are checked at every request.
 *
 * @example
 * const node = await startNode({ externalAgents: { allowLoopback: true }, agents: [{ name: 'far', a2a: { url: 'http://127.0.0.1:9999' } }] });
 */
export function externalAgentsModule(options: ExternalAgentsOptionsInput = {}): NodeModule<ExternalAgentsApi> {
  const o = parseOrThrow(externalAgentsOptionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid externalAgents options');
  return {
    name: EXTERNAL_AGENTS_MODULE,
    requires: ['agents'],
    start: (host) => {
      const logger = host.logger.child({ module: EXTERNAL_AGENTS_MODULE });
      const pii = (): PiiGuard | undefined => (host.hasModule('pii') ? host.module<PiiGuard>('pii') : undefined);
      const registry = host.module<AgentRegistry>('agents');
      // a removed agent's conversations are gone: so are its remote threads
      const unsubscribe = registry.events.subscribe((e) => {
        const store = host.store;
        if (e.type === 'agent.removed') providers.delete(e.agent);
        if (e.type !== 'agent.removed' || !store) return;
        forgetThreads(store, e.agent).catch((err: unknown) => logger.warn({ err, agent: e.agent }, 'could not drop a removed agent\'s remote A2A threads'));
      });
      // the proxy provider of each external agent, by name: a canceled task of one cancels its remote task
      const providers = new Map<string, A2AProxyProvider>();
      const stopFollowing = host.hasModule('a2a')
        ? host.module<{ onTaskCanceled(l: TaskCanceledListener): () => void }>('a2a').onTaskCanceled((agent, task) => {
          const provider = providers.get(agent);
          if (!provider) return;
          provider.taskCanceled(conversationOf(task)).catch((err: unknown) => logger.warn({ err, agent, task: task.id }, 'could not cancel the remote A2A task of a canceled task'));
        })
        : () => undefined;
      registry.registerProviderKind('a2a', (spec: AgentSpecData, origin: AgentOrigin) => {
        const a2a = spec.a2a!;
        if (origin.api && !o.allowApiAgents) {
          throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `agent ${spec.name}: agents created through the API may be external (a2a) agents only when the node allows it (externalAgents.allowApiAgents)`, {
            details: { param: 'a2a' },
          });
        }
        checkUrlNow(a2a.url, o);
        const provider = new A2AProxyProvider({ agent: spec.name, spec: a2a, options: o, logger, pii, ...(host.store ? { store: host.store } : {}), now: () => host.clock.now(), clock: host.clock });
        providers.set(spec.name, provider);
        return provider;
      });
      return {
        api: { options: o },
        release: () => {
          unsubscribe();
          stopFollowing();
        },
      };
    },
  };
}
