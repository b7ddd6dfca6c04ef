import { Deadlines, type Clock, type ToolSpec, type TroupeError } from '../../protocol/index.js';
import type { AgentEvents } from './events.js';
import { memoryReducer, type AgentMemory, type MemoryEvent } from './memory.js';
import type { ModelProvider } from './model/index.js';
import type { AgentActivity } from './passivation.js';
import type { AgentLimits } from './spec.js';
import type { AgentTool } from './tools.js';

/** Everything an agent actor is built from; fixed for the agent's lifetime. */
export interface AgentDeps {
  name: string;
  instructions: string;
  temperature?: number;
  limits: AgentLimits;
  provider: ModelProvider;
  /** Upstream model id sent to the provider. */
  model: string;
  tools: ReadonlyMap<string, AgentTool>;
  toolSpecs: ReadonlyArray<ToolSpec>;
  /** Tools of the spec's `<source>:<ref>` names as they are now (MCP tools come and go): read at every run. */
  moreTools?: () => AgentTool[];
  events: AgentEvents;
  clock: Clock;
  /** Journal key; absent on a node without storage (memory lives as long as the actor). */
  journalKey?: string;
  /** Why a new run is refused now (kill switch, budget: see UpstreamGuard), or undefined. */
  refusal?: () => TroupeError | undefined;
  /** Runs a tool's ask to another agent or actor through that target's breaker (see UpstreamGuard). */
  callTarget?: <T>(target: string, fn: () => Promise<T>) => Promise<T>;
  /** Where the actor notes, after each message, when it was last active and how many runs it holds (the idle sweep reads it). */
  activity?: AgentActivity;
}

const reducers = new WeakMap<AgentLimits, (s: AgentMemory, e: MemoryEvent) => AgentMemory>();
/** One memory reducer per limits object: agents of one spec share their limits, so they share it. */
export function reducerOf(limits: AgentLimits): (s: AgentMemory, e: MemoryEvent) => AgentMemory {
  let r = reducers.get(limits);
  if (r === undefined) reducers.set(limits, (r = memoryReducer(limits)));
  return r;
}

const runDeadlines = new WeakMap<Clock, Deadlines>();
/** The run deadlines of every agent on one clock: one set of window timers, not one per agent. */
export function deadlinesOf(clock: Clock): Deadlines {
  let d = runDeadlines.get(clock);
  if (d === undefined) runDeadlines.set(clock, (d = new Deadlines(clock)));
  return d;
}
