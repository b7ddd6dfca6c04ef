import type { Logger } from 'pino';
import { agentParts, type AgentParts } from './agent-parts.js';
import type { ModelProvider } from './model/index.js';
import type { AgentSpecData } from './spec.js';
import type { AgentTool } from './tools.js';

/** Distinct specs remembered; past it the table starts over (agents keep what they got). */
const MAX_SPECS = 4_096;

/**
 * What agents of one spec share, made once: the parsed spec (its nested objects: limits,
 * supervision, upstream, budget, skills, tools) and its resolved tool list, tool schemas and
 * provider. An agent then costs its name and its own state, not a copy of its spec: a node
 * of a million agents made from a handful of specs holds a handful of specs.
 *
 * @example
 * const shared = new SharedParts();
 * const data = shared.spec(parseAgentSpec(input).data); // the same nested objects as an earlier agent of this spec
 */
export class SharedParts {
  private specs = new Map<string, AgentSpecData>();
  private parts = new WeakMap<AgentSpecData['tools'], AgentParts>();

  /** `data`, or an equal spec seen before with `data`'s name: the nested objects are shared. */
  spec(data: AgentSpecData): AgentSpecData {
    const { name, ...rest } = data;
    const key = JSON.stringify(rest);
    const known = this.specs.get(key);
    if (known === undefined) {
      if (this.specs.size >= MAX_SPECS) this.specs = new Map();
      this.specs.set(key, data);
      return data;
    }
    return known.name === name ? known : { ...known, name };
  }

  /**
   * The agent's resolved parts: shared between agents of one shared spec that name only
   * registered tools and use the node's provider; made for the agent otherwise (code tools,
   * or a provider of its own).
   */
  resolve(data: AgentSpecData, codeTools: AgentTool[], known: ReadonlyMap<string, AgentTool>, fallback: ModelProvider, logger: Logger, own?: ModelProvider): AgentParts {
    // an agent with a provider of its own (a proxy of a remote agent, say) shares nothing
    if (codeTools.length > 0 || data.provider !== undefined || own !== undefined) return agentParts(data, codeTools, known, fallback, logger, own);
    const hit = this.parts.get(data.tools);
    if (hit !== undefined) return hit;
    const made = agentParts(data, codeTools, known, fallback, logger);
    this.parts.set(data.tools, made);
    return made;
  }

  /** A tool was registered (maybe over one of the same name): resolve tools anew. */
  toolsChanged(): void {
    this.parts = new WeakMap();
  }
}
