import { TroupeError } from '../../protocol/index.js';
import type { McpToolDescriptor, ModuleHost, ModuleInstance, NodeModule, RouteTable } from './module.js';

const MODULE_NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;
/** Bound on the modules of one node (a config mistake, not a real node, goes past it). */
const MAX_MODULES = 64;

/**
 * Check a module list: names valid and unique, requirements present and listed earlier.
 * Throws TROUPE_ERR_CONFIG_INVALID.
 */
export function checkModules(modules: readonly NodeModule<any>[]): void {
  if (modules.length > MAX_MODULES) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `at most ${MAX_MODULES} modules`);
  const seen = new Set<string>();
  for (const m of modules) {
    if (typeof m?.name !== 'string' || !MODULE_NAME_RE.test(m.name) || typeof m.start !== 'function') {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid module ${JSON.stringify(String(m?.name)).slice(0, 80)}: a module has a name (1-32 of [a-z0-9-]) and a start function`);
    }
    if (seen.has(m.name)) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `module ${m.name} is listed twice`);
    for (const r of m.requires ?? []) {
      if (!seen.has(r)) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `module ${m.name} requires module ${r}, which must be listed before it`);
    }
    seen.add(m.name);
  }
}

/**
 * The started modules of one node, by name. Starts them in order; closes them in two
 * phases (drain before the actors stop, release after), newest first.
 */
export class ModuleSet {
  private readonly started = new Map<string, ModuleInstance>();
  private readonly unsubscribe: Array<() => void> = [];

  /** Start every module in order; a failure stops the start (the node closes what started). */
  async start(modules: readonly NodeModule<any>[], host: ModuleHost): Promise<void> {
    checkModules(modules);
    for (const m of modules) {
      const instance = await m.start(host);
      this.started.set(m.name, instance);
      if (instance.inspect) this.unsubscribe.push(host.inspect(instance.inspect));
    }
  }

  has(name: string): boolean {
    return this.started.has(name);
  }

  /** A started module's API; TROUPE_ERR_NODE_MODULE_MISSING when there is none by that name. */
  api<A>(name: string): A {
    const m = this.started.get(name);
    if (!m) throw new TroupeError('TROUPE_ERR_NODE_MODULE_MISSING', `this node has no module named ${name}`, { details: { module: name } });
    return m.api as A;
  }

  /** Names, in start order. */
  names(): string[] {
    return [...this.started.keys()];
  }

  /** Mount every module's routes. */
  mountRoutes(table: RouteTable): void {
    for (const m of this.started.values()) m.routes?.(table);
  }

  /** The Prometheus text of every module that has its own series. */
  async metricsText(): Promise<string> {
    const parts = await Promise.all([...this.started.values()].map((m) => m.metrics?.() ?? ''));
    return parts.filter((p) => p.length > 0).join('\n');
  }

  /** Every module's MCP tools. */
  mcpTools(): McpToolDescriptor<any>[] {
    return [...this.started.values()].flatMap((m) => [...(m.mcpTools ?? [])]);
  }

  /** Phase 1 of shutdown, newest module first. */
  async drain(onError: (module: string, e: unknown) => void): Promise<void> {
    for (const [name, m] of [...this.started].reverse()) {
      try {
        await m.drain?.();
      } catch (e) {
        onError(name, e);
      }
    }
  }

  /** Phase 2 of shutdown (after the actors stopped), newest module first. */
  async release(onError: (module: string, e: unknown) => void): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const [name, m] of [...this.started].reverse()) {
      try {
        await m.release?.();
      } catch (e) {
        onError(name, e);
      }
    }
  }
}
