import type { Logger } from 'pino';
import { TroupeError, describeIssues, newId, type Clock } from '../../protocol/index.js';
import type { ChatMessage, ToolSpec } from '../../protocol/index.js';
import { SecretBox, corruptRecord, type NodeStore } from '../../storage/index.js';
import type { Context } from '../kernel/behaviour.js';
import type { ActorRef } from '../kernel/ref.js';
import type { ModuleHost } from '../modules/index.js';
import { agentBehaviour } from './agent-actor.js';
import { AgentDirectory } from './directory.js';
import { AgentEvents } from './events.js';
import type { AgentInfo } from './info.js';
import type { AgentStatus, RunResult } from './messages.js';
import { admitProvider, createProvider, describeProvider, providerConfigFromEnv, type ModelProvider, type ProviderConfig } from './model/index.js';
import type { RunOptions, RunRequest } from './run-request.js';
import { SPEC_DB, secretContext, specRecordSchema, splitSecrets, type ProviderSecrets, type SpecRecord } from './spec-record.js';
import { AGENT_NAME_RE, parseAgentSpec, type AgentSpecData, type AgentSpecInput } from './spec.js';
import { builtinTools, toolSpecOf, validateTool, type AgentTool } from './tools.js';

/** A conversation as `agent.conversation` returns it. */
export interface ConversationView {
  conversationId: string;
  turns: number;
  updatedAt: number;
  messages: ChatMessage[];
}

/** The part of a node the registry needs (the module host, narrowed). */
export type AgentHost = Pick<ModuleHost,
  'id' | 'logger' | 'clock' | 'store' | 'dropJournal' | 'isClosing' | 'spawnSpec' | 'tell' | 'ask' | 'locate' | 'peers' | 'stop' | 'toRef' | 'lookup' | 'watch'>;

/** Who runs agents for the registry: the gateway actor (found by name through the node). */
export interface AgentRunner {
  run(target: { kind: 'agent'; name: string }, req: RunRequest, opts?: RunOptions): Promise<RunResult>;
}

/** Where the node's default model comes from. */
export interface AgentRegistryOptions {
  /** A ready provider (tests, custom backends). Wins over `model`. */
  provider?: ModelProvider;
  /** Provider config; default: OPENAI_BASE_URL / OPENAI_API_KEY / TROUPE_MODEL from the environment. */
  model?: ProviderConfig;
  /**
   * Key that seals durable agents' provider secrets (apiKey, headers) at rest
   * (TROUPE_DATA_KEY; at least 16 characters; never stored). Without it such agents are refused.
   */
  dataKey?: string;
}

interface Entry {
  data: AgentSpecData;
  provider: ModelProvider;
  model: string;
  durable: boolean;
  journalKey: string | undefined;
  createdAt: number;
  supervisor: ActorRef;
  agent: ActorRef;
  status: 'running' | 'stopped';
  stoppedReason?: string;
  unwatch: () => void;
}


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
  /** The node's default model provider. */
  readonly provider: ModelProvider;
  /** The node's agent directory (`/system/agents`): what other nodes and the routes ask. */
  readonly directory: AgentDirectory;
  private readonly entries = new Map<string, Entry>();
  private readonly tools = new Map<string, AgentTool>();
  private root?: Context;
  private readonly box: SecretBox | undefined;

  /** `runner` runs agents (the gateway actor); a function, since the gateway module may start later. */
  constructor(private readonly host: AgentHost, private readonly runner: () => AgentRunner, options: AgentRegistryOptions = {}) {
    this.box = options.dataKey === undefined ? undefined : new SecretBox(options.dataKey);
    const log = host.logger.child({ component: 'agents' });
    this.provider = admitProvider(options.provider ?? createProvider(options.model ?? providerConfigFromEnv(process.env), { logger: log }));
    const d = describeProvider(this.provider);
    if (this.provider.offline) {
      log.info(d, `model provider: built-in offline model '${d.model}' (deterministic; set OPENAI_BASE_URL or OPENAI_API_KEY for a real upstream)`);
    } else {
      log.info(d, `model provider: OpenAI-compatible upstream at ${d.baseURL ?? '(default)'}, default model ${d.model}`);
    }
    for (const t of builtinTools) this.tools.set(t.name, t);
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
    return this.targetElsewhere(name);
  }

  private async targetElsewhere(name: string): Promise<ActorRef> {
    if (!AGENT_NAME_RE.test(name)) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name.slice(0, 80)}`);
    const ref = await this.host.locate(`user/agents/${name}/agent`);
    if (ref) return ref;
    // not live anywhere: a node that still lists it has it stopped
    const known = await this.directory.getAnywhere(name);
    if (known && known.status === 'stopped') throw stoppedError(name, undefined, known.node);
    throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name} in the cluster`);
  }

  /** Make a code tool available by name to every agent spec (HTTP ones included). */
  registerTool(tool: AgentTool): void {
    const t = validateTool(tool);
    this.tools.set(t.name, t);
  }

  /** Names of the tools agents may list by name. */
  toolNames(): string[] {
    return [...this.tools.keys()].sort();
  }

  /**
   * Spawn an agent that lives as long as this process (library code and the config file
   * spawn theirs again at every start). Its conversations are still journaled when the
   * node has a data dir. Throws TROUPE_ERR_AGENT_INVALID_SPEC or TROUPE_ERR_ACTOR_NAME_TAKEN.
   */
  spawn(input: AgentSpecInput): AgentInfo {
    const parsed = parseAgentSpec(input);
    const journalKey = this.host.store ? `agent/${parsed.data.name}` : undefined;
    const replaced = this.entries.get(parsed.data.name);
    const entry = this.start(parsed.data, parsed.codeTools, { durable: false, journalKey, createdAt: this.host.clock.now() });
    if (replaced) void this.discardReplaced(replaced, entry);
    return this.info(entry);
  }

  /**
   * Create an agent that survives restarts: the spec is committed to LMDB before this
   * resolves and the agent is spawned again at every start (`POST /api/v1/agents`). On a
   * node without a data dir it is the same as `spawn`. Code tools must be registered
   * (`registerTool`) and named, since the spec is stored as data.
   */
  async create(input: unknown): Promise<AgentInfo> {
    const parsed = parseAgentSpec(input);
    if (parsed.codeTools.length > 0) {
      throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', 'durable agents name their tools; register code tools with agents.registerTool first', { details: { param: 'tools' } });
    }
    const store = this.host.store;
    if (!store) return this.spawn(parsed.data);
    const name = parsed.data.name;
    const { spec: stored, secrets } = splitSecrets(parsed.data);
    if (secrets && !this.box) {
      throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `agent ${name}: a durable agent's provider apiKey and headers are kept encrypted at rest, and this node has no data key (set TROUPE_DATA_KEY)`, { details: { param: 'provider' } });
    }
    const sealed = secrets ? this.box!.seal(secrets, secretContext(name, stored as unknown as Record<string, unknown>)) : undefined;
    const createdAt = this.host.clock.now();
    const journalKey = `agent/${parsed.data.name}/${newId()}`;
    const replaced = this.entries.get(parsed.data.name);
    const entry = this.start(parsed.data, [], { durable: true, journalKey, createdAt });
    const discarded = replaced ? this.discardReplaced(replaced, entry) : Promise.resolve();
    const record: SpecRecord = { v: 2, spec: stored as unknown as Record<string, unknown>, ...(sealed ? { secrets: sealed } : {}), journalKey, createdAt };
    try {
      await store.put(store.db(SPEC_DB), parsed.data.name, record);
    } catch (e) {
      await this.retire(parsed.data.name, entry);
      throw e;
    } finally {
      await discarded;
    }
    return this.info(entry);
  }

  /** Re-spawn every persisted agent; returns how many came back. Called once at start. */
  restore(): number {
    const store = this.host.store;
    if (!store) return 0;
    let n = 0;
    for (const { key, value } of store.db(SPEC_DB).getRange({})) {
      try {
        const r = specRecordSchema.safeParse(value);
        if (!r.success) throw corruptRecord(SPEC_DB, key, undefined, describeIssues(r.error));
        const rec = r.data;
        const parsed = parseAgentSpec(this.unseal(String(key), rec));
        this.start(parsed.data, [], { durable: true, journalKey: rec.journalKey, createdAt: rec.createdAt });
        n++;
        if (rec.v === 1) this.upgrade(store, parsed.data, rec);
      } catch (e) {
        this.host.logger.error({ err: e, agent: key }, 'could not restore a persisted agent');
      }
    }
    if (n > 0) this.host.logger.info({ agents: n }, 'persisted agents restored');
    return n;
  }

  /**
   * A version 1 record (secrets in the clear, from before they were sealed) is written again
   * as version 2 once a data key can seal them; without one the node says so at every start.
   */
  private upgrade(store: NodeStore, data: AgentSpecData, rec: SpecRecord): void {
    const { spec: stored, secrets } = splitSecrets(data);
    if (secrets && !this.box) {
      this.host.logger.warn({ agent: data.name }, 'this agent\'s provider secrets are stored in the clear (an older record); set TROUPE_DATA_KEY to seal them');
      return;
    }
    const spec = stored as unknown as Record<string, unknown>;
    const next: SpecRecord = { v: 2, spec, ...(secrets ? { secrets: this.box!.seal(secrets, secretContext(data.name, spec)) } : {}), journalKey: rec.journalKey, createdAt: rec.createdAt };
    store.put(store.db(SPEC_DB), data.name, next).catch((e: unknown) => this.host.logger.warn({ err: e, agent: data.name }, 'could not rewrite an agent record sealed'));
  }

  /** A stored spec with its provider secrets opened again (version 2 records). */
  private unseal(name: string, rec: SpecRecord): Record<string, unknown> {
    if (rec.secrets === undefined) return rec.spec;
    if (!this.box) {
      throw new TroupeError('TROUPE_ERR_STORAGE_SECRET', `agent ${name} keeps its provider secrets encrypted and this node has no data key (set TROUPE_DATA_KEY)`);
    }
    const secrets = this.box.open(rec.secrets, secretContext(name, rec.spec)) as ProviderSecrets;
    return { ...rec.spec, provider: { ...(rec.spec.provider as Record<string, unknown> | undefined), ...secrets } };
  }

  /**
   * Stop and forget an agent; a durable one loses its persisted spec and journal too, purged
   * only once the agent is stopped and its last commits have settled. Resolves false when
   * there is no such agent.
   */
  async remove(name: string): Promise<boolean> {
    const e = this.entries.get(name);
    if (!e) return false;
    const store = this.host.store;
    const durable = e.durable && store !== undefined && !store.closed;
    // Issued before anything is awaited, so an agent created again under this name meanwhile
    // writes its spec after this removal, never before it.
    const specGone = durable ? store.remove(store.db(SPEC_DB), name) : Promise.resolve();
    await this.retire(name, e);
    if (durable) {
      await specGone;
      if (e.journalKey) await this.dropJournal(e.journalKey, name);
    }
    this.events.emit({ type: 'agent.removed', agent: name });
    return true;
  }

  /** One agent's public description. */
  get(name: string): AgentInfo | undefined {
    const e = this.entries.get(name);
    return e ? this.info(e) : undefined;
  }

  /** Every agent of this node, by name. */
  list(): AgentInfo[] {
    return [...this.entries.values()].map((e) => this.info(e)).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * The agent actor for a name on this node or, failing that, anywhere in the cluster (a
   * remote ref works with the same tell/ask calls).
   */
  async locate(name: string): Promise<ActorRef | undefined> {
    const local = this.resolve(name);
    if (local || this.entries.has(name)) return local;
    return this.host.locate(`user/agents/${name}/agent`);
  }

  /** The live agent actor for a name on this node, or undefined. */
  resolve(name: string): ActorRef | undefined {
    const e = this.entries.get(name);
    return e && e.status === 'running' ? e.agent : undefined;
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

  /** This node's live agent ref; TROUPE_ERR_AGENT_NOT_FOUND, or TROUPE_ERR_AGENT_STOPPED once its supervisor gave up. */
  require(name: string): ActorRef {
    const e = this.entries.get(name);
    if (!e) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name}`);
    if (e.status !== 'running') throw stoppedError(name, e.stoppedReason);
    return e.agent;
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * `/user/agents`: the parent of every agent's supervisor. Its context is kept so agents
   * can be spawned under it synchronously from outside any handler (spawning a child only
   * touches the supervision tree, never the actor's state). A supervisor that exceeds its
   * restart intensity is stopped for good rather than restarted, so a failing agent never
   * takes the others down.
   */
  private agentsRoot(): Context {
    if (this.root) return this.root;
    let captured: Context | undefined;
    this.host.spawnSpec({
      name: 'agents',
      behaviour: {
        initial: (ctx) => {
          captured = ctx;
          this.root = ctx;
          return undefined;
        },
        receive: () => undefined,
      },
      supervision: {
        strategy: 'one-for-one',
        maxRestarts: 1_000_000,
        withinMs: 1_000,
        decider: (e) => ((e as { code?: string })?.code === 'TROUPE_ERR_SUPERVISOR_INTENSITY' ? 'stop' : 'restart'),
      },
    });
    if (!captured) throw new TroupeError('TROUPE_ERR_ACTOR_FAILED', '/user/agents did not start');
    return captured;
  }

  private start(data: AgentSpecData, codeTools: AgentTool[], how: { durable: boolean; journalKey: string | undefined; createdAt: number }): Entry {
    const name = data.name;
    const existing = this.entries.get(name);
    if (existing && existing.status === 'running') {
      throw new TroupeError('TROUPE_ERR_ACTOR_NAME_TAKEN', `an agent named ${name} already exists`);
    }
    const byName = new Map(codeTools.map((t) => [t.name, t] as const));
    const tools = new Map<string, AgentTool>();
    const toolSpecs: ToolSpec[] = [];
    for (const t of data.tools) {
      const tool = byName.get(t) ?? this.tools.get(t);
      if (!tool) {
        throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `agent ${name}: unknown tool ${t} (known: ${this.toolNames().join(', ') || 'none'})`, { details: { param: 'tools' } });
      }
      tools.set(tool.name, tool);
      toolSpecs.push(toolSpecOf(tool));
    }
    const provider = data.provider
      ? createProvider({
          provider: data.provider.kind,
          ...(data.provider.baseURL ? { baseURL: data.provider.baseURL } : {}),
          ...(data.provider.apiKey ? { apiKey: data.provider.apiKey } : {}),
          ...(data.provider.maxTokensField ? { maxTokensField: data.provider.maxTokensField } : {}),
          ...(data.provider.headers ? { headers: data.provider.headers } : {}),
          ...(data.model ? { model: data.model } : {}),
        }, { logger: this.host.logger.child({ agent: name }) })
      : this.provider;
    const model = data.model ?? provider.defaultModel;
    const behaviour = agentBehaviour({
      name,
      instructions: data.instructions,
      ...(data.temperature !== undefined ? { temperature: data.temperature } : {}),
      limits: data.limits,
      provider,
      model,
      tools,
      toolSpecs,
      events: this.events,
      clock: this.host.clock,
      ...(how.journalKey !== undefined ? { journalKey: how.journalKey } : {}),
    });
    const supervisor = this.agentsRoot().spawn({
      name,
      supervision: {
        strategy: 'one-for-one',
        maxRestarts: data.supervision.maxRestarts,
        withinMs: data.supervision.withinMs,
        backoff: { minMs: data.supervision.backoff.minMs, maxMs: Math.max(data.supervision.backoff.minMs, data.supervision.backoff.maxMs) },
      },
      children: [{ name: 'agent', behaviour, poisonAfter: 1 }],
    });
    const agent = this.host.toRef(`${supervisor.path}/agent`);
    const entry: Entry = {
      data, provider, model, durable: how.durable, journalKey: how.journalKey, createdAt: how.createdAt,
      supervisor, agent, status: 'running', unwatch: () => undefined,
    };
    entry.unwatch = this.host.watch(supervisor, (sig) => {
      if (this.entries.get(name) !== entry || this.host.isClosing) return;
      entry.status = 'stopped';
      entry.stoppedReason = sig.error ? `${sig.error.code}: ${sig.error.message}` : sig.reason;
      this.host.logger.error({ agent: name, reason: entry.stoppedReason }, 'agent stopped for good');
      this.events.emit({ type: 'agent.stopped', agent: name, reason: entry.stoppedReason });
    });
    this.entries.set(name, entry);
    this.events.emit({ type: 'agent.spawned', agent: name, address: agent.address, durable: how.durable });
    this.host.logger.info({ agent: name, address: agent.address, model, provider: provider.name, durable: how.durable }, 'agent spawned');
    return entry;
  }

  /**
   * Forget an entry and stop its actors, so no new commit starts; commits already issued are
   * settled by the node's dropJournal before a purge.
   */
  private async retire(name: string, e: Entry): Promise<void> {
    e.unwatch();
    if (this.entries.get(name) === e) this.entries.delete(name);
    await this.host.stop(e.supervisor);
  }

  /**
   * An agent stopped for good was replaced by a new one of the same name: drop its watch,
   * and when it was durable its journal (and its spec, unless the new agent stores its own).
   */
  private async discardReplaced(old: Entry, by: Entry): Promise<void> {
    old.unwatch();
    const store = this.host.store;
    if (!old.durable || !store || store.closed) return;
    try {
      if (!by.durable) await store.remove(store.db(SPEC_DB), old.data.name);
      if (old.journalKey !== undefined && old.journalKey !== by.journalKey) await this.dropJournal(old.journalKey, old.data.name);
    } catch (err) {
      this.host.logger.warn({ err, agent: old.data.name }, 'could not discard the stored state of a replaced agent');
    }
  }

  /** The node drains the journal's pending commits, deletes it and forgets its log. */
  private async dropJournal(key: string, agent: string): Promise<void> {
    try {
      await this.host.dropJournal(key);
    } catch (e) {
      this.host.logger.warn({ err: e, key, agent }, 'could not purge the journal of a removed agent');
    }
  }


  private info(e: Entry): AgentInfo {
    const d = describeProvider(e.provider);
    return {
      name: e.data.name,
      description: e.data.description,
      instructions: e.data.instructions,
      model: e.model,
      provider: { name: d.provider, offline: d.offline, ...(d.baseURL ? { baseURL: d.baseURL } : {}) },
      tools: [...e.data.tools],
      skills: e.data.skills,
      limits: e.data.limits,
      supervision: e.data.supervision,
      ...(e.data.temperature !== undefined ? { temperature: e.data.temperature } : {}),
      address: e.agent.address,
      node: this.host.id,
      status: e.status,
      ...(e.stoppedReason ? { stoppedReason: e.stoppedReason } : {}),
      durable: e.durable,
      persistent: e.journalKey !== undefined,
      createdAt: e.createdAt,
    };
  }
}

/** The coded error of a run for an agent whose supervisor gave up on it. */
function stoppedError(name: string, reason: string | undefined, node?: string): TroupeError {
  return new TroupeError('TROUPE_ERR_AGENT_STOPPED', `agent ${name} is stopped${node ? ` on node ${node}` : ''}: ${reason ?? 'its supervisor gave up'}; create it again (or restart the node) to bring it back`, {
    details: { agent: name, ...(node ? { node } : {}) },
  });
}
