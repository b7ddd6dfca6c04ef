import type { Logger } from 'pino';
import { ToolSources, type ToolSource } from './tool-sources.js';
import { ProviderKinds, type ProviderKind, type ProviderMaker } from './provider-kinds.js';
import { builtinTools, validateTool, type AgentTool } from './tools.js';

/**
 * What agent specs of a node can name: code tools by name (the built-in ones first),
 * `<prefix>:<ref>` tools served by sources (the MCP module registers `mcp`), and model
 * provider kinds (the external agents module registers `a2a`).
 *
 * @example
 * const box = new AgentToolbox(log, () => shared.toolsChanged());
 * box.registerTool({ name: 'add', parameters, execute });
 * box.names(); // ['add', 'delegate', ...]
 */
export class AgentToolbox {
  readonly tools = new Map<string, AgentTool>();
  readonly sources: ToolSources;
  readonly providerKinds = new ProviderKinds();

  constructor(log: Logger, private readonly toolsChanged: () => void) {
    this.sources = new ToolSources(log);
    for (const t of builtinTools) this.tools.set(t.name, t);
  }

  registerTool(tool: AgentTool): void {
    const t = validateTool(tool);
    this.tools.set(t.name, t);
    this.toolsChanged();
  }

  registerToolSource(prefix: string, source: ToolSource): void {
    this.sources.register(prefix, source);
  }

  registerProviderKind(kind: ProviderKind, make: ProviderMaker): void {
    this.providerKinds.register(kind, make);
  }

  /** Names of the tools agents may list by name, sorted. */
  names(): string[] {
    return [...this.tools.keys()].sort();
  }
}
