import { TroupeError } from '../../protocol/index.js';
import { admitProvider, type ModelProvider } from './model/index.js';
import type { AgentSpecData } from './spec.js';

/** Kinds of agents whose model another module provides: `a2a` (a proxy of a remote A2A agent). */
export type ProviderKind = 'a2a';

/** How an agent came to be: `api`, created through `agents.create` (`POST /api/v1/agents`, the MCP tool), else by config or code. */
export interface AgentOrigin {
  api: boolean;
}

/** Makes the provider of one agent's spec; throws a coded error to refuse the spec. */
export type ProviderMaker = (spec: AgentSpecData, origin: AgentOrigin) => ModelProvider;

/**
 * The providers other modules make for agent specs of their kind (the external agents
 * module registers `a2a`). A spec of a kind no module serves yet (an agent restored before
 * that module started) gets a provider that asks again at its first call.
 *
 * @example
 * kinds.register('a2a', (spec) => new A2AProxyProvider(spec.a2a!, deps));
 * kinds.providerFor(spec, { api: false }); // the proxy provider, or undefined for an ordinary spec
 */
export class ProviderKinds {
  private readonly makers = new Map<ProviderKind, ProviderMaker>();

  register(kind: ProviderKind, make: ProviderMaker): void {
    this.makers.set(kind, make);
  }

  /** The provider of a spec of a registered kind, or undefined for a spec with none. */
  providerFor(spec: AgentSpecData, origin: AgentOrigin): ModelProvider | undefined {
    if (spec.a2a === undefined) return undefined;
    const make = this.makers.get('a2a');
    if (make) return admitProvider(make(spec, origin));
    let made: ModelProvider | undefined;
    return {
      name: 'a2a',
      offline: false,
      defaultModel: spec.name,
      complete: (req, opts) => {
        if (!made) {
          const later = this.makers.get('a2a');
          if (!later) throw new TroupeError('TROUPE_ERR_NODE_MODULE_MISSING', `agent ${spec.name} is an external (a2a) agent and this node runs no module that serves them (a2a-external)`);
          made = admitProvider(later(spec, origin));
        }
        return made.complete(req, opts);
      },
    };
  }
}
