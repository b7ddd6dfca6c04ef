import type { Logger } from 'pino';
import { TroupeError } from '../../protocol/index.js';
import type { ToolSpec } from '../../protocol/index.js';
import { createProvider, type ModelProvider } from './model/index.js';
import type { AgentSpecData } from './spec.js';
import { toolSpecOf, type AgentTool } from './tools.js';

/** What an agent's spec resolves to on this node: its tools, its provider and model. */
export interface AgentParts {
  tools: Map<string, AgentTool>;
  toolSpecs: ToolSpec[];
  /** `<source>:<ref>` names (e.g. `mcp:everything/*`), resolved by their tool source at every run. */
  toolRefs: string[];
  provider: ModelProvider;
  model: string;
}

/**
 * Resolve a spec's tools (the spec's code tools first, then the node's named ones) and its
 * provider (its own, or the node's default). Throws TROUPE_ERR_AGENT_INVALID_SPEC for an
 * unknown tool.
 *
 * @example
 * const parts = agentParts(data, [], registeredTools, nodeProvider, logger);
 */
export function agentParts(data: AgentSpecData, codeTools: AgentTool[], known: ReadonlyMap<string, AgentTool>, fallback: ModelProvider, logger: Logger, own?: ModelProvider): AgentParts {
  const byName = new Map(codeTools.map((t) => [t.name, t] as const));
  const tools = new Map<string, AgentTool>();
  const toolSpecs: ToolSpec[] = [];
  const toolRefs: string[] = [];
  for (const t of data.tools) {
    if (t.includes(':')) {
      toolRefs.push(t);
      continue;
    }
    const tool = byName.get(t) ?? known.get(t);
    if (!tool) {
      const names = [...known.keys()].sort().join(', ') || 'none';
      throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `agent ${data.name}: unknown tool ${t} (known: ${names})`, { details: { param: 'tools' } });
    }
    tools.set(tool.name, tool);
    toolSpecs.push(toolSpecOf(tool));
  }
  const p = data.provider;
  const provider = own ?? (p
    ? createProvider({
        provider: p.kind,
        ...(p.baseURL ? { baseURL: p.baseURL } : {}),
        ...(p.apiKey ? { apiKey: p.apiKey } : {}),
        ...(p.maxTokensField ? { maxTokensField: p.maxTokensField } : {}),
        ...(p.headers ? { headers: p.headers } : {}),
        ...(data.model ? { model: data.model } : {}),
      }, { logger: logger.child({ agent: data.name }) })
    : fallback);
  return { tools, toolSpecs, toolRefs, provider, model: data.model ?? provider.defaultModel };
}
