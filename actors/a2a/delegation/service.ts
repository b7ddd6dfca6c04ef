import type { Logger } from 'pino';
import {
  TroupeError, newId, type A2AExecute, type A2AResult, type A2AStatus,
} from '../../../protocol/index.js';
import { DELEGATE_TOOL_REF, type AgentInfo, type AgentSpecData, type RunOptions, type RunRequest, type RunResult, type ToolSource } from '../../agent/index.js';
import type { AuditApi } from '../../audit/index.js';
import type { McpToolDescriptor, ModuleHost } from '../../modules/index.js';
import { A2AClient } from './client.js';
import { delegateTool } from './delegate-tool.js';
import { Delegator, RETRIED_CODES } from './delegator.js';
import { DelegationMetrics } from './metrics.js';
import { ClusterCatalog, discoverTool, searchAgents, type DiscoveryQuery } from './discovery.js';
import { A2AInbox } from './inbox.js';

/** The A2A message endpoint's name under /system on every node. */
export const A2A_ENDPOINT_NAME = 'a2a-messages';
/** Its path: where other nodes send EXECUTE, DELEGATE, CONTEXT_SHARE and STATUS_QUERY. */
export const A2A_ENDPOINT_PATH = `system/${A2A_ENDPOINT_NAME}`;
/** Room for messages in the endpoint's mailbox (durable ones wait in the inbox past it). */
const ENDPOINT_MAILBOX = 100_000;
/** Agents whose last known node is kept. */
const MAX_LOCATIONS = 10_000;
/** Default time an EXECUTE from the library API may take. */
const DEFAULT_EXECUTE_TIMEOUT_MS = 120_000;

/** What delegation uses of the gateway actor: runs. */
export interface DelegationGateway {
  run(target: { kind: 'agent'; name: string }, req: RunRequest, opts?: RunOptions): Promise<RunResult>;
}

/** What delegation uses of the agents module. */
export interface DelegationAgents {
  list(): AgentInfo[];
  /** The node's agent directory: every agent of the cluster. */
  readonly directory: { catalogCluster(): Promise<AgentInfo[]> };
  locate(name: string): Promise<{ node: string } | undefined>;
  registerToolSource(prefix: string, source: ToolSource): void;
}

/** The library API of agent-to-agent messaging (the a2a module's `delegation`). */
export interface DelegationApi {
  /**
   * EXECUTE a task on an agent anywhere in the cluster: sent durably; an answer lost on the way
   * back is asked for again (`retries` times, same id, after `timeoutMs` each), and a repeat of
   * an id is answered from the receiver's memory, never run again.
   */
  execute(agent: string, input: string, options?: { id?: string; correlationId?: string; timeoutMs?: number; retries?: number; expiresAt?: number; from?: string }): Promise<A2AResult>;
  /** STATUS_QUERY: what became of an EXECUTE or DELEGATE at the node of `agent`. */
  status(agent: string, messageId: string, timeoutMs?: number): Promise<A2AStatus>;
  /** The cluster's running agents that fit a query (skill tag, words). */
  discover(query: DiscoveryQuery): Promise<AgentInfo[]>;
  /** The breaker state a caller has on a target. */
  breakerState(caller: string, target: string): 'closed' | 'open' | 'half-open';
  /** The receiving side (its context filter is where a PII policy plugs in). */
  readonly inbox: A2AInbox;
}

/** What the a2a module adds to the node for agent-to-agent messages. */
export interface Delegation {
  api: DelegationApi;
  mcpTools: McpToolDescriptor<any>[];
  /** Prometheus text of the delegation series. */
  metrics(): Promise<string>;
}

/**
 * Agent-to-agent messaging on one node: the endpoint actor (`/system/a2a-messages`) that
 * receives EXECUTE, DELEGATE, CONTEXT_SHARE and STATUS_QUERY from any node (see
 * {@link A2AInbox}) and the answers to this node's own requests (see {@link A2AClient}); the
 * `delegate` tool, served as the `a2a:delegate` tool source to every agent whose spec has
 * `delegates`; and discovery over the cluster's agent cards.
 *
 * @example
 * const d = startDelegation(host, gateway, agents, log);
 * const r = await d.api.execute('writer', 'summarize this');
 */
export function startDelegation(host: ModuleHost, gateway: DelegationGateway, agents: DelegationAgents, log: Logger): Delegation {
  const self = host.toRef(A2A_ENDPOINT_PATH).address;
  const endpointOf = (node: string): string => `troupe://${node}/${A2A_ENDPOINT_PATH}`;
  // read at scrape time, once the delegator below exists
  const metrics = new DelegationMetrics(() => delegator.openBreakers());
  const client = new A2AClient({
    clock: host.clock,
    tellDurable: (target, message) => host.tellDurable(target, message),
    tell: (target, message) => host.tell(target, message),
  }, endpointOf);
  const inbox = new A2AInbox({
    node: host.id,
    endpointPath: A2A_ENDPOINT_PATH,
    clock: host.clock,
    log,
    run: (agent, req, opts) => gateway.run({ kind: 'agent', name: agent }, req, opts),
    tell: (to, message) => host.tell(to, message),
    tellDurable: (to, message) => host.tellDurable(to, message),
    // looked up when needed: the audit module may start after this one, or not at all
    audit: (record) => {
      metrics.onReceived(record);
      if (!host.hasModule('audit')) return;
      host.module<AuditApi>('audit').record(record).catch((e: unknown) => log.warn({ err: e, action: record.action }, 'could not record an A2A audit record'));
    },
  });
  // Where each agent was last found: a lookup that fails while a link is cut (the agent's
  // node cannot be asked) falls back on it, so a durable message still goes to the outbox.
  const lastKnown = new Map<string, string>();
  const nodeOf = async (agent: string): Promise<string | undefined> => {
    const found = (await agents.locate(agent).catch(() => undefined))?.node;
    if (found === undefined) return lastKnown.get(agent);
    lastKnown.delete(agent);
    if (lastKnown.size >= MAX_LOCATIONS) lastKnown.delete(lastKnown.keys().next().value as string);
    lastKnown.set(agent, found);
    return found;
  };
  const delegator = new Delegator({
    node: host.id, clock: host.clock, log, client, replyTo: self, nodeOf, peers: () => host.peers(),
    emit: (e) => {
      metrics.onEvent(e);
      host.emit(e);
      log.debug(e, `a2a delegation ${e.step}`);
    },
  });
  // the node's agent directory asks every node that is up (a second each at most)
  const clusterAgents = (): Promise<AgentInfo[]> => agents.directory.catalogCluster();
  const catalog = new ClusterCatalog(host.clock, () => agents.list(), clusterAgents);

  inbox.onReply = (m) => client.onReply(m);
  // persistent: what it took and answered survives a crash, so a repeat is never run twice
  host.spawnSpec({ name: A2A_ENDPOINT_NAME, mailboxCapacity: ENDPOINT_MAILBOX, behaviour: inbox.behaviour(A2A_ENDPOINT_PATH) }, 'system');

  const source: ToolSource = {
    resolve: (ref, spec?: AgentSpecData) => (ref === DELEGATE_TOOL_REF.slice(4) && spec?.delegates ? [delegateTool(spec, catalog.list(), delegator)] : []),
  };
  agents.registerToolSource('a2a', source);

  const locateOrFail = async (agent: string): Promise<string> => {
    const node = await nodeOf(agent);
    if (node === undefined) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no node of the cluster runs an agent named ${agent.slice(0, 64)}`);
    return node;
  };
  const api: DelegationApi = {
    inbox,
    breakerState: (caller, target) => delegator.breakerState(caller, target),
    discover: async (query) => searchAgents(await clusterAgents(), query),
    execute: async (agent, input, o = {}) => {
      const timeoutMs = o.timeoutMs ?? DEFAULT_EXECUTE_TIMEOUT_MS;
      const retries = Math.max(0, Math.min(10, o.retries ?? 2));
      const id = o.id ?? newId();
      const correlationId = o.correlationId ?? newId();
      for (let attempt = 0; ; attempt++) {
        const node = await locateOrFail(agent);
        const m: A2AExecute = {
          type: 'a2a.execute', id, from: o.from ?? 'client', to: agent, correlationId, callChain: [],
          createdAt: Math.floor(host.clock.now()), replyTo: self, attempt, payload: { input }, ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}),
        };
        try {
          return await client.task(node, m, timeoutMs);
        } catch (e) {
          if (attempt >= retries || !(e instanceof TroupeError) || !RETRIED_CODES.has(e.code)) throw e;
        }
      }
    },
    status: async (agent, messageId, timeoutMs = 5_000) => {
      const node = await locateOrFail(agent);
      return client.status(node, {
        type: 'a2a.status_query', id: newId(), from: 'client', to: agent, correlationId: newId(), callChain: [], createdAt: Math.floor(host.clock.now()),
        replyTo: self, attempt: 0, payload: { messageId },
      }, timeoutMs);
    },
  };
  return { api, mcpTools: [discoverTool(clusterAgents)], metrics: () => metrics.text() };
}
