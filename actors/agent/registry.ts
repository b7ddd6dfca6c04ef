import { TroupeError, newId } from '../../protocol/index.js';
import type { AgentHost, AgentRegistryOptions, AgentRunner, ConversationView } from './registry-types.js';
import type { Context } from '../kernel/index.js';
import { ActorRef } from '../kernel/index.js';
import { spawnAgentActors, spawnAgentsRoot, type AgentActorsDeps } from './agent-actors.js';
import { SharedParts } from './shared-parts.js';
import { SupervisorStops } from './supervisor-stops.js';
import { AgentDirectory } from './directory.js';
import { agentActorPath, targetElsewhere } from './agent-target.js';
import { AgentEvents, type AgentEvent } from './events.js';
import type { Logger } from 'pino';
import { infoOf, stoppedError, type AgentEntry as Entry, type AgentInfo } from './info.js';
import type { AgentStatus, RunResult } from './messages.js';
import type { ModelProvider } from './model/index.js';
import { nodeProvider } from './node-provider.js';
import type { RunOptions, RunRequest } from './run-request.js';
import { AgentSpecStore } from './spec-record.js';
import { parseAgentSpec, type AgentSpecData, type AgentSpecInput } from './spec.js';
import { discardReplaced, dropAgentJournal } from './stored-state.js';
import type { ToolSource } from './tool-sources.js';
import type { ProviderKind, ProviderMaker } from './provider-kinds.js';
import type { AgentTool } from './tools.js';
import { AgentToolbox } from './toolbox.js';
import { UpstreamGuard } from './upstream/guard.js';
import { DEFAULT_PASSIVATE_AFTER_MS, MAX_PASSIVATE_AFTER_MS } from './passivation.js';
import { AGENTS_PREFIX, AgentPassivation } from './agent-passivation.js';

export type { ConversationView, AgentHost, AgentRunner, AgentRegistryOptions } from './registry-types.js';

/**
 * The agents of one node: spawns each under its own supervisor
 * (`/user/agents/<name>`, policy from the spec's `supervision`) with the agent actor as
 * its child (`/user/agents/<name>/agent`), persists the specs of agents created over HTTP
 * and re-spawns them at start, keeps the node's agent directory (`/system/agents`), and
 * resolves agent names to refs for the gateway actor, which runs them.
 *
 * @example
 * node.agents.registerTool({ name: 'add', parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => a + b });
 * node.spawnAgent({ name: 'math', tools: ['add'] });
 * const r = await node.agents.run('math', { input: [{ role: 'user', content: 'call add {"a":1,"b":2}' }] });
 */
export class AgentRegistry {
  readonly events = new AgentEvents();
  /**
   * Records an agent's creation or removal (the audit module's `record`, set by the agents
   * module when the node has one); awaited, so `create` and `remove` resolve after the record
   * is committed.
   */
  audited?: (e: { action: 'AGENT_CREATE' | 'AGENT_DELETE'; agent: string; spec?: unknown }) => Promise<unknown>;
  /** The node's default model provider. */
  readonly provider: ModelProvider;
  /** The node's agent directory (`/system/agents`): what other nodes and the routes ask. */
  readonly directory: AgentDirectory;
  private readonly entries = new Map<string, Entry>();
  /** The tools and provider kinds agent specs can name. */
  private readonly toolbox: AgentToolbox;
  /** What agents of one spec share (parsed spec, tools, schemas, provider). */
  private readonly shared = new SharedParts();
  private root?: Context;
  private readonly log: Logger;
  /** Emits an agent event (one function shared by every agent's guard). */
  private readonly emitEvent = (e: AgentEvent): void => this.events.emit(e);
  /** The persisted specs of durable agents (none without a data dir). */
  private readonly specs: AgentSpecStore | undefined;
  /** The node's default idle time before an agent is passivated (0: never). */
  private readonly passivateAfterMs: number;
  /** Idle agents passivated, passivated ones activated by their next message. */
  private readonly passivation: AgentPassivation;
  /** What every agent's actors are made with besides its entry: one object for the node's agents. */
  private readonly actorsDeps: AgentActorsDeps;
  /** Hears of supervisors stopped for good (one inspection subscriber, not a watch per agent). */
  private readonly stops: SupervisorStops;

  /** `runner` runs agents (the gateway actor); a function, since the gateway module may start later. */
  constructor(private readonly host: AgentHost, private readonly runner: () => AgentRunner, options: AgentRegistryOptions = {}) {
    const log = host.logger.child({ component: 'agents' });
    this.log = log;
    this.specs = host.store ? new AgentSpecStore(host.store, options.dataKey, log) : undefined;
    this.provider = nodeProvider(options, log);
    this.toolbox = new AgentToolbox(log, () => this.shared.toolsChanged());
    const after = options.passivateAfterMs ?? DEFAULT_PASSIVATE_AFTER_MS;
    if (!Number.isInteger(after) || after < 0 || after > MAX_PASSIVATE_AFTER_MS) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `passivateAfterMs must be an integer from 0 (never) to ${MAX_PASSIVATE_AFTER_MS} ms`);
    }
    this.passivateAfterMs = after;
    const registry = this; // the root is a getter: its context changes when it restarts
    this.actorsDeps = { get root() { return registry.agentsRoot(); }, events: this.events, clock: host.clock, toolSources: this.toolbox.sources };
    this.passivation = new AgentPassivation(host, this.entries, this.events, (e) => this.spawnActors(e));
    this.stops = new SupervisorStops(host, this.entries, this.events, (e) => this.passivation.idle.untrack(e));
    this.directory = new AgentDirectory({
      logger: host.logger,
      list: () => this.list(),
      get: (name) => this.get(name),
      status: (name) => this.status(name),
      create: (spec) => this.create(spec),
      remove: (name) => this.remove(name),
      toolNames: () => this.toolNames(),
      locate: (name) => this.locate(name),
      peers: () => host.peers(),
      ask: (target, message, options) => host.ask(target, message, options),
      spawnSpec: (spec, under) => host.spawnSpec(spec, under),
    });
  }

  /**
   * The agent actor a name stands for, for the gateway actor: this node's when it has one
   * (at once), else the live one anywhere in the cluster. Throws (or rejects with)
   * TROUPE_ERR_AGENT_STOPPED for an agent whose supervisor gave up, here or on another node,
   * and TROUPE_ERR_AGENT_NOT_FOUND when no node has it.
   */
  target(name: string): ActorRef | Promise<ActorRef> {
    const e = this.entries.get(name);
    if (e) {
      if (e.status === 'running') return e.agent;
      throw stoppedError(name, e.stoppedReason);
    }
    return targetElsewhere(this.host, this.directory, name);
  }

  /** Make a code tool available by name to every agent spec (HTTP ones included). */
  registerTool(tool: AgentTool): void {
    this.toolbox.registerTool(tool);
  }

  /**
   * Serve the `<prefix>:<ref>` tool names of agent specs from a source (the MCP module
   * registers `mcp`). Agents spawned before it was registered see its tools from then on.
   *
   * @example
   * registry.registerToolSource('mcp', { resolve: (ref) => servers.toolsFor(ref) });
   */
  registerToolSource(prefix: string, source: ToolSource): void {
    this.toolbox.registerToolSource(prefix, source);
  }

  /** Make the model provider of agent specs of a kind (the external agents module registers `a2a`). */
  registerProviderKind(kind: ProviderKind, make: ProviderMaker): void {
    this.toolbox.registerProviderKind(kind, make);
  }

  /** Names of the tools agents may list by name. */
  toolNames(): string[] {
    return this.toolbox.names();
  }

  /**
   * Spawn an agent that lives as long as this process (library code and the config file
   * spawn theirs again at every start). Its conversations are still journaled when the
   * node has a data dir. Throws TROUPE_ERR_AGENT_INVALID_SPEC or TROUPE_ERR_AGENT_EXISTS.
   * With `passivated` (and a journal to keep its memory), it starts passivated: listed and
   * addressable, its actor spawned by its first message.
   */
  spawn(input: AgentSpecInput, options: { passivated?: boolean } = {}): AgentInfo {
    return this.spawnParsed(parseAgentSpec(input), false, options.passivated === true);
  }

  /** `api`: asked for through `create` (over HTTP) on a node without storage. */
  private spawnParsed(parsed: ReturnType<typeof parseAgentSpec>, api: boolean, passivated = false): AgentInfo {
    const journalKey = this.host.store ? `agent/${parsed.data.name}` : undefined;
    const replaced = this.entries.get(parsed.data.name);
    const entry = this.start(parsed.data, parsed.codeTools, { durable: false, api, journalKey, createdAt: this.host.clock.now(), passivated });
    if (replaced) void discardReplaced(this.host, this.specs, replaced, entry);
    return infoOf(entry, this.host.id);
  }

  /**
   * Create an agent that survives restarts: the spec is committed to LMDB before this
   * resolves and the agent is spawned again at every start (`POST /api/v1/agents`). On a
   * node without a data dir it is the same as `spawn`. Code tools must be registered
   * (`registerTool`) and named, since the spec is stored as data.
   */
  async create(input: unknown): Promise<AgentInfo> {
    const info = await this.createUnaudited(input);
    await this.audited?.({ action: 'AGENT_CREATE', agent: info.name, spec: input });
    return info;
  }

  private async createUnaudited(input: unknown): Promise<AgentInfo> {
    const parsed = parseAgentSpec(input);
    if (parsed.codeTools.length > 0) {
      throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', 'durable agents name their tools; register code tools with agents.registerTool first', { details: { param: 'tools' } });
    }
    const specs = this.specs;
    if (!specs) return this.spawnParsed(parsed, true);
    const name = parsed.data.name;
    const createdAt = this.host.clock.now();
    const journalKey = `agent/${name}/${newId()}`;
    const record = specs.record(parsed.data, journalKey, createdAt);
    const replaced = this.entries.get(name);
    const entry = this.start(parsed.data, [], { durable: true, api: true, journalKey, createdAt });
    const discarded = replaced ? discardReplaced(this.host, this.specs, replaced, entry) : Promise.resolve();
    try {
      await specs.put(name, record);
    } catch (e) {
      await this.retire(name, entry);
      throw e;
    } finally {
      await discarded;
    }
    return infoOf(entry, this.host.id);
  }

  /** Re-spawn every persisted agent; returns how many came back. Called once at start. */
  restore(): number {
    if (!this.specs) return 0;
    let n = 0;
    for (const stored of this.specs.all()) {
      try {
        const { spec, rec } = stored.open();
        const parsed = parseAgentSpec(spec);
        // passivated until their first message (unless passivation is off for them): a node with
        // many agents starts without spawning any actor
        this.start(parsed.data, [], { durable: true, api: true, journalKey: rec.journalKey, createdAt: rec.createdAt, passivated: true });
        n++;
        this.specs.upgrade(parsed.data, rec);
      } catch (e) {
        this.host.logger.error({ err: e, agent: stored.name }, 'could not restore a persisted agent');
      }
    }
    if (n > 0) this.host.logger.info({ agents: n }, 'persisted agents restored');
    return n;
  }

  /**
   * Stop and forget an agent; a durable one loses its persisted spec and journal too, purged
   * only once the agent is stopped and its last commits have settled. Resolves false when
   * there is no such agent.
   */
  async remove(name: string): Promise<boolean> {
    const e = this.entries.get(name);
    if (!e) return false;
    const specs = this.specs;
    const durable = e.durable && specs !== undefined && !specs.closed;
    // Issued before anything is awaited, so an agent created again under this name meanwhile
    // writes its spec after this removal, never before it.
    const specGone = durable ? specs.remove(name) : Promise.resolve();
    await this.retire(name, e);
    if (durable) {
      await specGone;
      if (e.journalKey) await dropAgentJournal(this.host, e.journalKey, name);
    }
    this.events.emit({ type: 'agent.removed', agent: name });
    await this.audited?.({ action: 'AGENT_DELETE', agent: name });
    return true;
  }

  /** One agent's public description. */
  get(name: string): AgentInfo | undefined {
    const e = this.entries.get(name);
    return e ? infoOf(e, this.host.id) : undefined;
  }

  /** Every agent of this node, by name. */
  list(): AgentInfo[] {
    return [...this.entries.values()].map((e) => infoOf(e, this.host.id)).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * The agent actor for a name on this node or, failing that, anywhere in the cluster (a
   * remote ref works with the same tell/ask calls).
   */
  async locate(name: string): Promise<ActorRef | undefined> {
    const e = this.entries.get(name);
    const local = e && e.status === 'running' ? e.agent : undefined;
    if (local || this.entries.has(name)) return local;
    return this.host.locate(agentActorPath(name));
  }

  /** The live agent actor for a name on this node, or undefined (none, stopped, or passivated). */
  resolve(name: string): ActorRef | undefined {
    const e = this.entries.get(name);
    return e && e.status === 'running' && !e.passivated ? e.agent : undefined;
  }

  /**
   * The agent actor for a name on this node once a message has woken it (it holds runs or
   * memory), else undefined: what to tell about runs without waking an agent that has none.
   */
  awake(name: string): ActorRef | undefined {
    const e = this.entries.get(name);
    return e && e.status === 'running' && !e.passivated && e.actors?.awake === true ? e.agent : undefined;
  }

  /** Live figures from the agent itself (runs in flight, conversations). */
  status(name: string, timeoutMs = 2_000): Promise<AgentStatus> {
    return this.host.ask<AgentStatus>(this.require(name), { type: 'agent.status' }, { timeoutMs });
  }

  /** The stored history of one conversation, or null. */
  conversation(name: string, conversationId: string, timeoutMs = 5_000): Promise<ConversationView | null> {
    return this.host.ask<ConversationView | null>(this.require(name), { type: 'agent.conversation', conversationId }, { timeoutMs });
  }

  /** Forget a conversation (journaled); resolves false when there was none. */
  forget(name: string, conversationId: string, timeoutMs = 5_000): Promise<boolean> {
    return this.host.ask<boolean>(this.require(name), { type: 'agent.forget', conversationId }, { timeoutMs });
  }

  /**
   * Run an agent by name and await its result.
   *
   * @example
   * const r = await node.agents.run('assistant', { input: [{ role: 'user', content: 'hi' }], conversationId: 'c1' });
   */
  run(name: string, req: RunRequest, opts: RunOptions = {}): Promise<RunResult> {
    return this.runner().run({ kind: 'agent', name }, req, opts);
  }

  /**
   * The upstream guard of an agent of this node (LLM-aware supervision, breaker, budget,
   * kill switch, drill faults); undefined when there is no such agent.
   */
  upstream(name: string): UpstreamGuard | undefined {
    return this.entries.get(name)?.guard;
  }

  /**
   * Passivate this node's agents that are idle now (no run in flight or queued, nothing in
   * their mailbox) whatever their idle time; returns how many. Agents without a journal, or
   * with passivation off (`passivateAfterMs: 0`), stay.
   */
  passivateIdle(): number {
    return this.passivation.passivateIdle();
  }

  /** Stop the idle sweep (the node is closing). */
  close(): void {
    this.passivation.close();
    this.stops.close();
  }

  /** Names of this node's agents. */
  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** This node's live agent ref; TROUPE_ERR_AGENT_NOT_FOUND, or TROUPE_ERR_AGENT_STOPPED once its supervisor gave up. */
  require(name: string): ActorRef {
    const e = this.entries.get(name);
    if (!e) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name}`);
    if (e.status !== 'running') throw stoppedError(name, e.stoppedReason);
    return e.agent;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** `/user/agents`, spawned on first use (see {@link spawnAgentsRoot}). */
  private agentsRoot(): Context {
    return (this.root ??= spawnAgentsRoot(this.host, (ctx) => { this.root = ctx; }));
  }

  private start(parsed: AgentSpecData, codeTools: AgentTool[], how: { durable: boolean; api: boolean; journalKey: string | undefined; createdAt: number; passivated?: boolean }): Entry {
    const data = this.shared.spec(parsed);
    const name = data.name;
    const existing = this.entries.get(name);
    if (existing && existing.status === 'running') {
      throw new TroupeError('TROUPE_ERR_AGENT_EXISTS', `an agent named ${name} already exists`);
    }
    const { tools, toolSpecs, toolRefs, provider, model } = this.shared.resolve(data, codeTools, this.toolbox.tools, this.provider, this.host.logger, this.toolbox.providerKinds.providerFor(data, { api: how.api }));
    // one logger for every guard (their lines name the agent): a pino child per agent is heap per agent
    const guard = new UpstreamGuard(name, provider, this.host.clock, data.upstream, data.budget, this.log, this.emitEvent);
    // made directly: parsing the path through toRef's cache would churn it with one entry per agent
    const supervisor = new ActorRef(this.host.id, `${AGENTS_PREFIX}${name}`);
    // without a journal the memory lives only in the actor: such an agent is never passivated
    const passivateAfterMs = how.journalKey === undefined ? 0 : data.passivateAfterMs ?? this.passivateAfterMs;
    const entry: Entry = {
      data, provider, guard, model, durable: how.durable, journalKey: how.journalKey, createdAt: how.createdAt,
      supervisor, agent: new ActorRef(this.host.id, `${supervisor.path}/agent`), status: 'running',
      tools, toolSpecs, toolRefs, passivateAfterMs, passivated: false, lastActiveAt: 0, runs: undefined, actors: undefined,
    };
    this.entries.set(name, entry);
    if (how.passivated === true && passivateAfterMs > 0) entry.passivated = true;
    else this.spawnActors(entry);
    this.events.emit({ type: 'agent.spawned', agent: name, address: entry.agent.address, durable: how.durable });
    // a node restoring a million passivated agents does not log a million lines at info
    this.host.logger[entry.passivated ? 'debug' : 'info']({ agent: name, address: entry.agent.address, model, provider: provider.name, durable: how.durable, passivated: entry.passivated }, 'agent spawned');
    return entry;
  }

  /** Spawn an entry's actors (at spawn, and when a message activates a passivated agent); SupervisorStops hears of a stop for good. */
  private spawnActors(entry: Entry): void {
    // the supervisor's own ref (the same address): the entry keeps no second copy of it
    entry.supervisor = spawnAgentActors(entry, this.actorsDeps);
    entry.passivated = false;
    this.passivation.idle.track(entry);
  }

  /**
   * Forget an entry and stop its actors, so no new commit starts; commits already issued are
   * settled by the node's dropJournal before a purge.
   */
  private async retire(name: string, e: Entry): Promise<void> {
    this.passivation.idle.untrack(e);
    if (this.entries.get(name) === e) this.entries.delete(name);
    await this.host.stop(e.supervisor);
  }
}
