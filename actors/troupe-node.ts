import { openNodeStorage, type NodeStore } from '../storage/index.js';
import { TroupeError, type Envelope } from '../protocol/index.js';
import { Cluster, type ClusterOptionsInput } from './cluster.js';
import { Kernel, defaultLogger, defaultNodeId, registerNetworkFaults, type KernelOptionsInput } from './kernel/index.js';
import type { InspectionEvent } from './kernel/index.js';
import { ActorRef } from './kernel/index.js';
import { AGENTS_MODULE, agentsModule, type AgentRegistry, type AgentsModuleOptions, type AgentSpecInput, type ModelProvider, type ProviderConfig } from './agent/index.js';
import { GATEWAY_MODULE, gatewayModule, type AgentsView, type ClusterView, type GatewayActor, type GatewayHost } from './gateway/index.js';
import { drillsModule, type DrillsModuleOptions } from './drills/index.js';
import { ModuleSet, checkModules, type McpToolDescriptor, type ModuleHost, type NodeModule, type RouteTable } from './modules/index.js';
import { aoaModule } from './aoa/index.js';
import { schedulerModule } from './scheduler/index.js';
import { mcpModule, type McpModuleOptions, type McpServerConfigInput } from './mcp/index.js';
import { auditModule, type AuditOptionsInput } from './audit/index.js';
import { fabricModule, type FabricOptionsInput } from './fabric/index.js';
import { killSwitchModule } from './killswitch/index.js';
import { a2aModule, type A2AModuleOptions } from './a2a/index.js';
import { orchestratorModule, type OrchestratorModuleOptions } from './orchestrator/index.js';
import { externalAgentsModule, type ExternalAgentsOptionsInput } from './a2a/index.js';
import { piiModule, type PiiOptionsInput } from './pii/index.js';

/** Options of a node: the kernel's, plus where its data lives and what it runs. */
export type { ClusterOptionsInput } from './cluster.js';
export type NodeOptionsInput = Omit<KernelOptionsInput, 'storage'> & {
  /** LMDB data dir. Without one, dead letters and persistent actors' journals live in memory (not durable). */
  dataDir?: string;
  /** The agents' default model: provider config (default: OPENAI_BASE_URL / OPENAI_API_KEY / TROUPE_MODEL, else offline). */
  model?: ProviderConfig;
  /** A ready model provider for the agents (wins over `model`). */
  modelProvider?: ModelProvider;
  /** Seals durable agents' provider secrets at rest (TROUPE_DATA_KEY; at least 16 characters; never stored). */
  dataKey?: string;
  /**
   * The modules the node runs, started in order (default: {@link defaultModules}, every
   * module troupe ships, made from `model`, `modelProvider` and `dataKey`).
   */
  modules?: NodeModule<any>[];
  /** Let fault drills run on this node (the default drills module; `--allow-drills`). Default false. */
  allowDrills?: boolean;
  /** MCP servers agents may use tools of (`tools: ['mcp:<name>/*']`), for the default mcp module. */
  mcpServers?: McpServerConfigInput[];
  /** The default mcp module's other options (`apiServers`: what POST /api/v1/mcp-servers may add). */
  mcp?: Omit<McpModuleOptions, 'servers'>;
  /** Options of the default audit module (config key `audit`). */
  audit?: AuditOptionsInput;
  /** Options of the default fabric module: planes and preset (config key `fabric`). */
  fabric?: FabricOptionsInput;
  /** Options of the default orchestrator module (config key `orchestrator`). */
  orchestrator?: OrchestratorModuleOptions;
  /** Idle time (ms) after which an agent with a journal is passivated, unless its spec says otherwise; 0: never. Default 600,000. */
  agentPassivateAfterMs?: number;
  /** Options of the default pii module: PII policies of context leaving agents (config key `pii`). */
  pii?: PiiOptionsInput;
  /** Options of the default external agents module: outbound address policy (config key `externalAgents`). */
  externalAgents?: ExternalAgentsOptionsInput;
  /** Options of the default a2a module: push notifications (`push`), REST binding (`rest`) (config key `a2a`). */
  a2a?: A2AModuleOptions;
};

/**
 * Every module troupe ships, in start order: the gateway actor, then the agents.
 *
 * @example
 * const node = await startNode({ modules: [...defaultModules({ model: { provider: 'offline' } }), myModule] });
 */
/** Options of the default modules past the agents' and the drills'. */
export interface MoreModuleOptions {
  mcp?: McpModuleOptions;
  audit?: AuditOptionsInput;
  fabric?: FabricOptionsInput;
  orchestrator?: OrchestratorModuleOptions;
  pii?: PiiOptionsInput;
  externalAgents?: ExternalAgentsOptionsInput;
  a2a?: A2AModuleOptions;
}

export function defaultModules(agents: AgentsModuleOptions = {}, drills: DrillsModuleOptions = {}, more: MoreModuleOptions = {}): NodeModule<any>[] {
  return [gatewayModule(), agentsModule(agents), drillsModule(drills), aoaModule(), schedulerModule(), mcpModule(more.mcp ?? {}), auditModule(more.audit), fabricModule(more.fabric), killSwitchModule(), a2aModule(more.a2a), orchestratorModule(more.orchestrator ?? {}), piiModule(more.pii), externalAgentsModule(more.externalAgents)];
}

/**
 * A troupe node: the actor kernel with its LMDB store and the modules it was started with.
 * The package's `startNode` adds the cluster transport and the HTTP gateway on top. The
 * node is its modules' host (narrowly: {@link ModuleHost}) and the gateway's
 * ({@link GatewayHost}); capabilities live in modules, found by name (`node.module(name)`),
 * not in fields of this class.
 */
export class TroupeNode extends Kernel implements ModuleHost, GatewayHost {
  private clusterLink?: Cluster;
  private readonly moduleSet = new ModuleSet();
  private modulesStarted = false;

  constructor(options: KernelOptionsInput, readonly store: NodeStore | undefined) {
    super(options);
  }

  /**
   * Start the node's modules in order (once; `createNode` does it). Their drain phase runs
   * when the node closes, before the actors stop; their release phase after.
   */
  async startModules(modules: NodeModule<any>[]): Promise<void> {
    if (this.modulesStarted) throw new TroupeError('TROUPE_ERR_NODE_ALREADY_STARTED', `node ${this.id}: modules already started`);
    checkModules(modules);
    this.modulesStarted = true;
    const warn = (phase: string) => (module: string, e: unknown): void => this.logger.warn({ err: e, module, phase }, 'module close phase failed');
    this.onClose('modules', () => this.moduleSet.drain(warn('drain')));
    this.onClosed('modules', () => this.moduleSet.release(warn('release')));
    await this.moduleSet.start(modules, this);
  }

  /** A module's API by name; TROUPE_ERR_NODE_MODULE_MISSING when the node runs none by that name. */
  module<A>(name: string): A {
    return this.moduleSet.api<A>(name);
  }

  hasModule(name: string): boolean {
    return this.moduleSet.has(name);
  }

  /** Names of the node's modules, in start order. */
  get modules(): string[] {
    return this.moduleSet.names();
  }

  /** The agents module's registry (a thin accessor: `node.module('agents')`). */
  get agents(): AgentRegistry {
    return this.moduleSet.api<AgentRegistry>(AGENTS_MODULE);
  }

  /** The gateway actor (`node.module('gateway')`). */
  get gateway(): GatewayActor {
    return this.moduleSet.api<GatewayActor>(GATEWAY_MODULE);
  }

  get agentsView(): AgentsView | undefined {
    return this.moduleSet.has(AGENTS_MODULE) ? this.agents : undefined;
  }

  /**
   * Spawn an agent actor (supervised; conversations journaled when the node has a data dir).
   * Returns the agent actor's ref; see the README's Agents section for the spec.
   *
   * @example
   * node.spawnAgent({ name: 'helper', instructions: 'Be brief.', tools: ['clock'] });
   */
  spawnAgent(spec: AgentSpecInput): ActorRef {
    return this.toRef(this.agents.spawn(spec).address);
  }

  /** Publish on the inspection stream (for modules). */
  emit(event: InspectionEvent): void {
    this.inspector.emit(event);
  }

  deadLetterCount(): number {
    return this.deadLetters.count();
  }

  /** The Prometheus text of the modules' own series (for `GET /metrics`). */
  moduleMetrics(): Promise<string> {
    return this.moduleSet.metricsText();
  }

  /** Every module's MCP tools (for `/mcp` and `troupe mcp`). */
  mcpTools(): McpToolDescriptor[] {
    return this.moduleSet.mcpTools();
  }

  mountModuleRoutes(table: RouteTable): void {
    this.moduleSet.mountRoutes(table);
  }

  /**
   * Join (or found) a cluster: listen for peers and dial the seeds. Spawn the actors that
   * durable messages are for before this, so re-delivered messages find them.
   *
   * @example await node.startCluster({ port: 7700, seeds: ['ws://10.0.0.1:7700'], secret: 's3cret' });
   */
  async startCluster(options: ClusterOptionsInput = {}): Promise<{ url: string }> {
    if (this.clusterLink) throw new TroupeError('TROUPE_ERR_NODE_ALREADY_STARTED', `node ${this.id}: cluster already started`);
    const cluster = new Cluster(this, this.store, options);
    this.clusterLink = cluster;
    this.attachRemote(cluster);
    // closes after the actors stopped (replies can still flow while they drain), before storage
    this.onClosed('cluster', () => cluster.close());
    registerNetworkFaults(this, {
      partition: (node) => cluster.transport.partition(node),
      status: (node) => cluster.members().find((m) => m.node === node)?.status,
      tellDurable: (target, message, opts) => this.tellDurable(target, message, opts),
    });
    return cluster.start();
  }

  /** The cluster transport, when started. */
  get cluster(): Cluster | undefined {
    return this.clusterLink;
  }

  /** `{ self, members: [{ node, peer, status }] }`, the node itself included. */
  clusterInfo(): ClusterView {
    const members = this.clusterLink
      ? this.clusterLink.members().map((m) => ({ node: m.node, peer: m.peer, status: m.status }))
      : [{ node: this.id, peer: '', status: 'up' as const }];
    return { self: this.id, members };
  }

  /** The other members of the cluster that are up (none without a cluster). */
  peers(): string[] {
    if (!this.clusterLink) return [];
    return this.clusterLink.members().filter((m) => m.node !== this.id && m.status === 'up').map((m) => m.node);
  }

  /** Every other member of the cluster this node knows of, up, suspect or down (none without a cluster). */
  knownPeers(): string[] {
    if (!this.clusterLink) return [];
    return this.clusterLink.members().filter((m) => m.node !== this.id).map((m) => m.node);
  }

  /** Find a live actor by path or name on this node or, failing that, anywhere in the cluster. */
  async locate(target: string): Promise<ActorRef | undefined> {
    const local = this.lookup(target);
    if (local) return local;
    if (!this.clusterLink) return undefined;
    return this.clusterLink.locate(this.toRef(target).path);
  }

  /**
   * A durable tell to an actor on another node: kept in the LMDB outbox until the receiver has
   * persisted it, re-sent after reconnects and restarts, deduplicated by id on arrival.
   * Resolves once the outbox holds it. To a local actor it is a plain tell.
   */
  async tellDurable<M>(target: ActorRef<M> | string, message: M, options: { correlationId?: string } = {}): Promise<string> {
    const ref = this.toRef(target);
    const env: Envelope = { ...this.envelopeFor(ref, message, options), durable: true };
    if (ref.node === this.id) {
      this.tell(ref, message, options);
      return env.id;
    }
    if (!this.clusterLink) throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `no cluster transport to reach ${ref.node}`);
    await this.clusterLink.tellDurable(env, ref.node);
    return env.id;
  }
}

/**
 * Open storage (when a data dir is given) and start the kernel on it.
 *
 * @example
 * const node = await createNode({ id: 'n1', dataDir: './data' });
 */
export async function createNode(options: NodeOptionsInput = {}): Promise<TroupeNode> {
  const { dataDir, model, modelProvider, dataKey, modules, allowDrills, mcp, mcpServers, audit, fabric, orchestrator, pii, externalAgents, agentPassivateAfterMs, a2a, ...kernelOptions } = options;
  if (modules && (model !== undefined || modelProvider !== undefined || dataKey !== undefined || mcp !== undefined || mcpServers !== undefined || audit !== undefined || fabric !== undefined || orchestrator !== undefined || pii !== undefined || externalAgents !== undefined || a2a !== undefined)) {
    // they configure the default agents module: with a module list they would be ignored
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'model, modelProvider and dataKey configure the default modules; with `modules`, give them to agentsModule() instead');
  }
  // one logger for the node and its store
  const logger = kernelOptions.logger ?? defaultLogger(options.logLevel);
  kernelOptions.logger = logger;
  // LMDB under the data dir; without one, persistent actors run on the in-memory journal (not durable)
  const storage = await openNodeStorage({
    dataDir, logger: logger.child({ node: options.id ?? defaultNodeId() }), clock: kernelOptions.clock, deadLetterLimit: kernelOptions.deadLetterLimit,
  });
  const store = storage.store;
  let node: TroupeNode;
  try {
    node = new TroupeNode({ ...kernelOptions, storage }, store);
  } catch (e) {
    await storage.close();
    throw e;
  }
  node.onClosed('storage', () => storage.close());
  try {
    await node.startModules(modules ?? defaultModules({
      ...(modelProvider ? { provider: modelProvider } : {}),
      ...(model ? { model } : {}),
      ...(dataKey !== undefined ? { dataKey } : {}),
      ...(agentPassivateAfterMs !== undefined ? { passivateAfterMs: agentPassivateAfterMs } : {}),
    }, { allow: allowDrills === true }, { mcp: { ...mcp, ...(mcpServers ? { servers: mcpServers } : {}) }, ...(audit ? { audit } : {}), ...(fabric ? { fabric } : {}), ...(orchestrator ? { orchestrator } : {}), ...(pii ? { pii } : {}), ...(externalAgents ? { externalAgents } : {}), ...(a2a ? { a2a } : {}) }));
  } catch (e) {
    await node.close();
    throw e;
  }
  return node;
}
