import type { Logger } from 'pino';
import type { AgentSpecData } from './spec.js';
import type { AgentTool } from './tools.js';

/**
 * Resolves the `<source>:<ref>` tool names of agent specs (the MCP module serves `mcp`, as
 * in `mcp:everything/*`) to the tools they stand for right now; asked at every run, since
 * such tools come and go.
 */
export interface ToolSource {
  /** `agent` is the spec of the agent whose run asks. */
  resolve(ref: string, agent?: AgentSpecData): AgentTool[];
}

/** The tool name an agent with `delegates` asks the tool sources for (the a2a module serves `a2a`). */
export const DELEGATE_TOOL_REF = 'a2a:delegate';

/** The tool sources of one node's agents, by prefix. */
export class ToolSources {
  private readonly sources = new Map<string, ToolSource>();

  constructor(private readonly log: Logger) {}

  register(prefix: string, source: ToolSource): void {
    this.sources.set(prefix, source);
  }

  /** The tools `refs` stand for now; a prefix nobody serves (yet) gives none. */
  resolve(refs: readonly string[], agent?: AgentSpecData): AgentTool[] {
    const out: AgentTool[] = [];
    for (const r of refs) {
      const at = r.indexOf(':');
      const source = this.sources.get(r.slice(0, at));
      if (!source) continue;
      try {
        out.push(...source.resolve(r.slice(at + 1), agent));
      } catch (e) {
        this.log.warn({ err: e, tool: r }, 'a tool source failed to resolve a tool name');
      }
    }
    return out;
  }
}
