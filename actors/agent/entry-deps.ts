import type { Clock, ToolSpec, TroupeError } from '../../protocol/index.js';
import type { Context } from '../kernel/index.js';
import type { AgentDeps } from './agent-deps.js';
import type { AgentEvents } from './events.js';
import type { AgentEntry } from './info.js';
import type { ModelProvider } from './model/index.js';
import type { AgentActivity } from './passivation.js';
import type { AgentLimits } from './spec.js';
import { DELEGATE_TOOL_REF, type ToolSources } from './tool-sources.js';
import type { AgentTool } from './tools.js';

/** What spawning an agent's actors needs besides its entry: one object per node, shared by its agents. */
export interface AgentActorsDeps {
  /** `/user/agents`: the parent of every agent's supervisor (one object per node, so a getter: the root's context changes when it restarts). */
  readonly root: Context;
  events: AgentEvents;
  clock: Clock;
  toolSources: ToolSources;
}

/**
 * An agent actor's deps read from its registry entry and the node's agent parts: one small
 * object per agent (two references), its fields getters over what agents of one spec share
 * (parsed spec, tools, schemas) and what the agent owns (its upstream guard), not a copy.
 */
export class EntryDeps implements AgentDeps {
  constructor(private readonly entry: AgentEntry, private readonly node: AgentActorsDeps) {}

  get name(): string {
    return this.entry.data.name;
  }
  get instructions(): string {
    return this.entry.data.instructions;
  }
  get temperature(): number | undefined {
    return this.entry.data.temperature;
  }
  get limits(): AgentLimits {
    return this.entry.data.limits;
  }
  get provider(): ModelProvider {
    return this.entry.guard;
  }
  get model(): string {
    return this.entry.model;
  }
  get tools(): ReadonlyMap<string, AgentTool> {
    return this.entry.tools;
  }
  get toolSpecs(): ReadonlyArray<ToolSpec> {
    return this.entry.toolSpecs;
  }
  get events(): AgentEvents {
    return this.node.events;
  }
  get clock(): Clock {
    return this.node.clock;
  }
  get journalKey(): string | undefined {
    return this.entry.journalKey;
  }
  /** The entry is the activity record when the agent may be passivated. */
  get activity(): AgentActivity | undefined {
    return this.entry.passivateAfterMs > 0 ? this.entry : undefined;
  }

  refusal(): TroupeError | undefined {
    return this.entry.guard.refusal();
  }

  callTarget<T>(target: string, fn: () => Promise<T>): Promise<T> {
    return this.entry.guard.callTarget(target, fn);
  }

  /** An agent that may delegate gets the `delegate` tool from the a2a module's tool source. */
  moreTools(): AgentTool[] {
    const data = this.entry.data;
    const refs = this.entry.toolRefs;
    if (refs.length === 0 && !data.delegates) return [];
    return this.node.toolSources.resolve(data.delegates ? [...refs, DELEGATE_TOOL_REF] : refs, data);
  }
}
