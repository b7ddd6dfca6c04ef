import { z } from 'zod';
import type { AgentCard } from '@a2a-js/sdk';
import { parseOrThrow } from '../../protocol/index.js';
import { DefaultRequestHandler, JsonRpcTransportHandler } from '@a2a-js/sdk/server';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { DIRECTORY_PATH, DirectoryCommand, type AgentDescription, type AgentInfo } from '../agent/index.js';
import type { NodeModule } from '../modules/index.js';
import { agentCard } from './card.js';
import { AgentTaskExecutor, type AgentRunPort } from './executor.js';
import { CancelReporting, TaskCancels, type TaskCanceledListener } from './cancels.js';
import { recoverTasks } from './recovery.js';
import { NODE_AGENT, RouterExecutor, nodeCard, type A2AWorkflows } from './router.js';
import { ownerOfKey, registerA2ARoutes, type A2AEndpoint } from './routes.js';
import { DEFAULT_MAX_TASKS, TaskActors } from './task-store.js';
import { ActorTaskStore, scopeOf } from './sdk-task-store.js';
import { a2aMcpTools } from './mcp-tools.js';
import { startDelegation, type DelegationAgents, type DelegationApi } from './delegation/index.js';
import { JWKS_PATH, PushService, pushMetrics, pushOptionsSchema } from './push/index.js';
import { registerRestRoutes } from './rest/index.js';
import { DEFAULT_STREAM_BUFFER, DEFAULT_STREAM_BUFFER_BYTES, HomeLink, forwardOptionsSchema, startHome } from './home/index.js';

/** How long an agent of another node is taken as the cluster directory described it. */
const REMOTE_INFO_TTL_MS = 5_000;

/** What the module uses of the gateway actor: runs, and asks to the cluster's agent directory. */
type GatewayPort = AgentRunPort & {
  request<R>(target: { kind: 'actor'; address: string }, message: unknown, opts?: { timeoutMs?: number }): Promise<R>;
};

/** The a2a module's name. */
export const A2A_MODULE = 'a2a';

/** What the a2a module starts with (validated once, at `a2aModule()`). */
export const a2aModuleOptionsSchema = z.object({
  /** The card declares a bearer scheme; default: when the gateway has API keys. */
  secured: z.boolean().optional(),
  /** The version agent cards carry. */
  version: z.string().min(1).max(64).default('0.1.0'),
  /** Offer agents the `request_input` tool, whose call makes a task input-required. */
  inputTool: z.boolean().default(true),
  /** Tasks kept; past it the oldest finished ones are pruned with their journals. */
  maxTasks: z.number().int().min(1).max(10_000_000).default(DEFAULT_MAX_TASKS),
  /** Push notifications (config key `a2a.push`): SSRF policy, retries, limits. */
  push: pushOptionsSchema.prefault({}),
  /** Serve the REST (HTTP+JSON) bindings of A2A 1.0 and 0.3 at `/a2a/:agent/v1/...` (picked by `A2A-Version`) and list them on the cards. */
  rest: z.boolean().default(true),
  /** Events of a task of another node's agent buffered per stream for a slow reader; past it the stream ends (TROUPE_ERR_A2A_STREAM_OVERFLOW). */
  streamBuffer: z.number().int().min(16).max(100_000).default(DEFAULT_STREAM_BUFFER),
  /** Bytes (of the events' JSON) of such a stream buffered for a slow reader; past it the stream ends (TROUPE_ERR_A2A_STREAM_OVERFLOW). */
  streamBufferBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(DEFAULT_STREAM_BUFFER_BYTES),
  /** How calls forwarded to another node's agent ride out a peer link that drops: attempts, their backoff, how long the node may stay unreachable. */
  forward: forwardOptionsSchema.prefault({}),
}).strict();
export type A2AModuleOptions = z.input<typeof a2aModuleOptionsSchema>;

/** The a2a module's API. */
export interface A2AApi {
  /** The endpoint of an agent of this node or another of the cluster (its SDK request handler; for another node's agent, one that forwards each call to that node, where its tasks live). */
  endpoint(agent: string): Promise<A2AEndpoint | undefined>;
  /** The 1.0 card of an agent (of this node or another) as served at a base URL. */
  card(agent: string, baseUrl: string, secured: boolean): Promise<AgentCard | undefined>;
  /** Tasks that were working when the node last stopped and were failed on start. */
  readonly recovered: number;
  /** Agent-to-agent messages (EXECUTE, STATUS_QUERY), discovery, delegation breakers. */
  readonly delegation: DelegationApi;
  /** Push notifications (configs, outbox, delivery), when `push.enabled`. */
  readonly push: PushService | undefined;
  /** Hand the node's own agent (`POST /a2a`) workflows for complex tasks (the orchestrator module does); undefined removes them. */
  useWorkflows(workflows: A2AWorkflows | undefined): void;
  /** Follow the tasks of this node's agents that a cancel ends (the external agents module cancels the remote tasks behind them); returns the unsubscribe. */
  onTaskCanceled(listener: TaskCanceledListener): () => void;
}

/**
 * A2A for every agent of the node: each task a persistent actor behind the SDK's TaskStore,
 * the SDK's request handler per agent, and the routes (cards, `POST /a2a/:agent`).
 *
 * @example
 * const node = await startNode({ modules: [...defaultModules(), a2aModule()] });
 */
export function a2aModule(input: A2AModuleOptions = {}): NodeModule<A2AApi> {
  const options = Object.freeze(parseOrThrow(a2aModuleOptionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid a2a module options'));
  return {
    name: A2A_MODULE,
    requires: ['gateway', 'agents'],
    start: async (host) => {
      const log = host.logger.child({ module: A2A_MODULE });
      const gateway = host.module<GatewayPort>('gateway');
      const agents = host.module<{ get(name: string): AgentInfo | undefined; list(): AgentInfo[] }>('agents');
      const push = options.push.enabled ? await PushService.open({ store: host.store, id: host.id, clock: host.clock, logger: log }, options.push) : undefined;
      const tasks = new TaskActors(host, host.store?.db('a2a.tasks'), options.maxTasks, push ? (agent, scope, id) => push.configs.dropTask(agent, scope, id) : undefined);
      const recovered = await recoverTasks(tasks, host.clock, log, push ? (agent, scope, task) => push.notifyStatus(agent, scope, task) : undefined);
      const served = { version: options.version, push: push !== undefined, rest: options.rest };
      const cancels = new TaskCancels(log);
      const cardOf = (info: AgentInfo, baseUrl: string, secured: boolean): AgentCard =>
        agentCard(info, { baseUrl, secured: options.secured ?? secured, ...served });
      const handlerOf = (agent: string, card: AgentCard, executor: AgentTaskExecutor | RouterExecutor): DefaultRequestHandler =>
        new DefaultRequestHandler(card, new ActorTaskStore(agent, tasks), executor, undefined, push?.storeFor(agent), push?.senderFor(agent), undefined, undefined,
          { validateInputModes: true });
      const running = (agent: string): AgentInfo | undefined => {
        const info = agents.get(agent);
        return info && info.status === 'running' ? info : undefined;
      };
      // An agent of another node, as the cluster directory describes it (kept a few seconds)
      const remote = new Map<string, { info: AgentInfo; at: number }>();
      const lookup = async (agent: string): Promise<AgentInfo | undefined> => {
        const local = running(agent);
        if (local || host.peers().length === 0) return local;
        const hit = remote.get(agent);
        if (hit && host.clock.now() - hit.at < REMOTE_INFO_TTL_MS) return hit.info;
        const found = await gateway.request<AgentDescription | null>({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand({ op: 'describe', name: agent }), { timeoutMs: 2_000 })
          .catch((e: unknown) => {
            log.debug({ err: e, agent }, 'cluster directory lookup failed');
            return null;
          });
        remote.delete(agent);
        if (!found || found.status !== 'running') return undefined;
        if (remote.size >= 1_000) remote.delete(remote.keys().next().value as string);
        remote.set(agent, { info: found, at: host.clock.now() });
        return found;
      };
      // Where agents of other nodes were last seen: while such a node is down its tasks are not
      // gone, they are unreachable (its calls then fail with TROUPE_ERR_A2A_HOME_UNREACHABLE)
      const homes = new Map<string, AgentInfo>();
      const rememberHome = (info: AgentInfo): void => {
        homes.delete(info.name);
        homes.set(info.name, info);
        if (homes.size > 1_000) homes.delete(homes.keys().next().value as string);
      };
      const homeDown = (agent: string): AgentInfo | undefined => {
        const last = homes.get(agent);
        return last && host.knownPeers().includes(last.node) && !host.peers().includes(last.node) ? last : undefined;
      };
      // One request handler per agent (its event buses are where running tasks are followed and
      // cancelled), rebuilt only when the agent is replaced. Served cards are built per caller.
      const endpoints = new Map<string, { info: AgentInfo; ep: A2AEndpoint }>();
      const executors = new Set<AgentTaskExecutor>();
      // the node's own agent: routes each task to the node's agent whose skills fit
      const localAgents = (): AgentInfo[] => agents.list().filter((a) => a.status === 'running');
      const routed = new Map<string, AgentTaskExecutor>();
      const routedTo = (agent: string): AgentTaskExecutor => {
        let x = routed.get(agent);
        if (!x) {
          x = new AgentTaskExecutor(agent, () => gateway, host.clock, log, options.inputTool, () => host.isClosing);
          executors.add(x);
          if (routed.size >= 1_000) executors.delete(routed.get(routed.keys().next().value as string)!);
          if (routed.size >= 1_000) routed.delete(routed.keys().next().value as string);
          routed.set(agent, x);
        }
        return x;
      };
      let nodeEndpoint: A2AEndpoint | undefined;
      let workflows: A2AWorkflows | undefined;
      const routerEndpoint = (): A2AEndpoint => {
        if (nodeEndpoint) return nodeEndpoint;
        const executor = new RouterExecutor(localAgents, routedTo, () => workflows, host.clock);
        const sdk = handlerOf(NODE_AGENT, nodeCard(host.id, [], { baseUrl: '', secured: false, ...served }), executor);
        const handler = new CancelReporting(sdk, NODE_AGENT, tasks, cancels);
        nodeEndpoint = { handler, executor: undefined, rpc: new JsonRpcTransportHandler(handler), legacy: new LegacyJsonRpcTransportHandler(handler) };
        return nodeEndpoint;
      };
      const endpoint = async (agent: string): Promise<A2AEndpoint | undefined> => {
        if (agent === NODE_AGENT) return routerEndpoint();
        const info = await lookup(agent) ?? homeDown(agent);
        if (!info) return undefined;
        if (info.node !== host.id) rememberHome(info);
        const hit = endpoints.get(agent);
        if (hit && hit.info.createdAt === info.createdAt && hit.info.node === info.node) return hit.ep;
        let ep: A2AEndpoint;
        if (info.node !== host.id) {
          // an agent of another node: its tasks live there; every call goes to its node
          const handler = link.handlerFor(agent, info.node, cardOf(info, '', false));
          ep = { handler, executor: undefined, rpc: new JsonRpcTransportHandler(handler), legacy: new LegacyJsonRpcTransportHandler(handler) };
        } else {
          const executor = new AgentTaskExecutor(agent, () => gateway, host.clock, log, options.inputTool, () => host.isClosing);
          executors.add(executor);
          const sdk = handlerOf(agent, cardOf(info, '', false), executor);
          const handler = new CancelReporting(sdk, agent, tasks, cancels);
          ep = { handler, executor, rpc: new JsonRpcTransportHandler(handler), legacy: new LegacyJsonRpcTransportHandler(handler) };
        }
        if (endpoints.size >= 1_000) {
          const oldest = endpoints.keys().next().value as string;
          const old = endpoints.get(oldest)!.ep.executor;
          if (old) executors.delete(old);
          endpoints.delete(oldest);
        }
        endpoints.set(agent, { info, ep });
        return ep;
      };
      // tasks of this node's agents asked through other nodes live here; those of other
      // nodes' agents asked here go to their nodes
      const link = new HomeLink(host, log.child({ component: 'home-link' }), { bufferEvents: options.streamBuffer, bufferBytes: options.streamBufferBytes, forward: options.forward });
      startHome(host, async (agent) => (running(agent) ? (await endpoint(agent))?.handler : undefined), log.child({ component: 'home' }),
        (agent, ctx, messageId) => tasks.byMessage(agent, scopeOf(ctx), messageId));
      const card = async (agent: string, baseUrl: string, secured: boolean): Promise<AgentCard | undefined> => {
        if (agent === NODE_AGENT) return nodeCard(host.id, localAgents(), { baseUrl, secured: options.secured ?? secured, ...served }, workflows ? [workflows.skill] : []);
        const info = await lookup(agent);
        return info ? cardOf(info, baseUrl, secured) : undefined;
      };
      const delegation = startDelegation(host, gateway, host.module<DelegationAgents>('agents'), log.child({ component: 'delegation' }));
      const pushRegistry = push ? pushMetrics(push) : undefined;
      const metrics = async (): Promise<string> => {
        const [d, p] = await Promise.all([delegation.metrics(), pushRegistry ? pushRegistry.metrics() : Promise.resolve('')]);
        return d === '' || d.endsWith('\n') ? d + p : `${d}\n${p}`;
      };
      return {
        api: { endpoint, card, recovered, delegation: delegation.api, push, useWorkflows: (w) => void (workflows = w), onTaskCanceled: (l) => cancels.on(l) },
        mcpTools: [...a2aMcpTools(endpoint), ...delegation.mcpTools],
        metrics,
        // before the actors stop: running turns end (their tasks failed as interrupted) and are saved
        drain: async () => {
          link.closeAll();
          await Promise.allSettled([...executors].map((x) => x.stop()));
          await tasks.settled();
        },
        // after the actors: the last events' notifications are in the outbox, delivered at the next start
        release: () => push?.close(),
        routes: (table) => {
          registerA2ARoutes(table, { endpoint, card, userOf: (req) => ownerOfKey(req.apiKeyId) });
          if (options.rest) registerRestRoutes(table, { endpoint, userOf: (req: { apiKeyId?: string }) => ownerOfKey(req.apiKeyId), log: log.child({ component: 'rest' }) });
          if (push) table.route({ method: 'GET', url: JWKS_PATH, handler: (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(push.signer.jwks()) });
        },
      };
    },
  };
}
