import { z } from 'zod';
import type { AgentCard } from '@a2a-js/sdk';
import { parseOrThrow } from '../../protocol/index.js';
import { DefaultRequestHandler, JsonRpcTransportHandler } from '@a2a-js/sdk/server';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import type { AgentInfo } from '../agent/index.js';
import type { NodeModule } from '../modules/index.js';
import { agentCard } from './card.js';
import { AgentTaskExecutor, type AgentRunPort } from './executor.js';
import { FollowUpGuard } from './follow-ups.js';
import { recoverTasks } from './recovery.js';
import { ownerOfKey, registerA2ARoutes, type A2AEndpoint } from './routes.js';
import { ActorTaskStore, DEFAULT_MAX_TASKS, TaskActors } from './task-store.js';

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
}).strict();
export type A2AModuleOptions = z.input<typeof a2aModuleOptionsSchema>;

/** The a2a module's API. */
export interface A2AApi {
  /** The endpoint of an agent of this node (its SDK request handler). */
  endpoint(agent: string): A2AEndpoint | undefined;
  /** The 1.0 card of an agent of this node as served at a base URL. */
  card(agent: string, baseUrl: string, secured: boolean): AgentCard | undefined;
  /** Tasks that were working when the node last stopped and were failed on start. */
  readonly recovered: number;
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
      const gateway = host.module<AgentRunPort>('gateway');
      const agents = host.module<{ get(name: string): AgentInfo | undefined }>('agents');
      const tasks = new TaskActors(host, host.store?.db('a2a.tasks'), options.maxTasks);
      const recovered = await recoverTasks(tasks, host.clock, log);
      const cardOf = (info: AgentInfo, baseUrl: string, secured: boolean): AgentCard =>
        agentCard(info, { baseUrl, secured: options.secured ?? secured, version: options.version });
      const running = (agent: string): AgentInfo | undefined => {
        const info = agents.get(agent);
        return info && info.status === 'running' ? info : undefined;
      };
      // One request handler per agent (its event buses are where running tasks are followed and
      // cancelled), rebuilt only when the agent is replaced. Served cards are built per caller.
      const endpoints = new Map<string, { info: AgentInfo; ep: A2AEndpoint }>();
      const executors = new Set<AgentTaskExecutor>();
      const endpoint = (agent: string): A2AEndpoint | undefined => {
        const info = running(agent);
        if (!info) return undefined;
        const hit = endpoints.get(agent);
        if (hit && hit.info.createdAt === info.createdAt) return hit.ep;
        const executor = new AgentTaskExecutor(agent, () => gateway, host.clock, log, options.inputTool, () => host.isClosing);
        executors.add(executor);
        const sdk = new DefaultRequestHandler(cardOf(info, '', false), new ActorTaskStore(agent, tasks), executor);
        const handler = new FollowUpGuard(sdk, agent, tasks);
        const ep = { handler, executor, rpc: new JsonRpcTransportHandler(handler), legacy: new LegacyJsonRpcTransportHandler(handler) };
        if (endpoints.size >= 1_000) {
          const oldest = endpoints.keys().next().value as string;
          executors.delete(endpoints.get(oldest)!.ep.executor);
          endpoints.delete(oldest);
        }
        endpoints.set(agent, { info, ep });
        return ep;
      };
      const card = (agent: string, baseUrl: string, secured: boolean): AgentCard | undefined => {
        const info = running(agent);
        return info ? cardOf(info, baseUrl, secured) : undefined;
      };
      return {
        api: { endpoint, card, recovered },
        // before the actors stop: running turns end (their tasks failed as interrupted) and are saved
        drain: async () => {
          await Promise.allSettled([...executors].map((x) => x.stop()));
          await tasks.settled();
        },
        routes: (table) => registerA2ARoutes(table, { endpoint, card, userOf: (req) => ownerOfKey(req.apiKeyId) }),
      };
    },
  };
}
