import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import {
  AGENT_NAME_RE, DIRECTORY_PATH, DirectoryCommand, type AgentDescription, type AgentInfo, type DeadLetterApi, type DirectoryOp, type GatewayHost, type McpToolDescriptor,
} from '../../actors/index.js';
import { TroupeError, type ModelDelta } from '../../protocol/index.js';
import type { TrackRun } from '../run-binding.js';
import { progressReporter } from './progress.js';
import { registerTroupeResources } from './resources.js';
import { CONVERSATION_ID_RE } from '../run-request.js';

/** What the troupe MCP server's tools need: the node's narrow gateway face and the run limits. */
export interface McpServerDeps {
  host: Pick<GatewayHost, 'id' | 'gateway' | 'clusterInfo' | 'actors' | 'logger'> & {
    mcpTools?(): McpToolDescriptor[];
    /** This node's dead letters (list, redeliver), when the host has them. */
    readonly deadLetters?: Pick<DeadLetterApi, 'list' | 'get' | 'redeliver'>;
  };
  runTimeoutMs: number;
  /** Whether `create_agent` may give an agent its own upstream (baseURL, apiKey, headers). */
  allowAgentProviders: boolean;
  /** Registers a run in flight (the gateway drains them at shutdown). */
  track?: TrackRun;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function text(value: unknown): CallToolResult {
  const structured = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  return { content: [{ type: 'text', text: JSON.stringify(value ?? null) }], ...(structured ? { structuredContent: structured } : {}) };
}

/** A coded error as an MCP tool error result (the client's model can read it). */
function failure(e: unknown): CallToolResult {
  const code = e instanceof TroupeError ? e.code : 'TROUPE_ERR_GATEWAY_INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message.slice(0, 2_000)}` }] };
}

async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (e) {
    return failure(e);
  }
}

const PROVIDER_OVERRIDES = ['baseURL', 'apiKey', 'headers'] as const;

/** The tools every troupe MCP server has; modules' tools come after them. */
export const CORE_TOOLS = ['list_agents', 'describe_agent', 'run_agent', 'create_agent', 'delete_agent', 'cluster_status', 'actor_tree', 'dead_letters', 'redeliver_dead_letter'] as const;

/**
 * Build one MCP server (the SDK's `McpServer`; one per session, the SDK allows no sharing) with
 * troupe's tools: `list_agents`, `describe_agent`, `run_agent` (progress notifications with
 * the streamed output when the client sends a progress token; cancellable),
 * `create_agent`, `delete_agent`, `cluster_status`, `actor_tree`, then every tool the node's
 * modules contribute (`mcpTools`). Each tool becomes commands to the gateway actor, as the
 * HTTP routes do.
 *
 * @example
 * const server = buildTroupeMcpServer({ host: node, runTimeoutMs: 300_000, allowAgentProviders: false });
 * await server.connect(new StdioServerTransport());
 */
export function buildTroupeMcpServer(deps: McpServerDeps): McpServer {
  const { host } = deps;
  const gateway = host.gateway;
  const server = new McpServer({ name: 'troupe', version: '0.1.0' }, { capabilities: { tools: { listChanged: true }, resources: { listChanged: true } } });
  const directory = <T>(op: DirectoryOp): Promise<T> => gateway.request<T>({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand(op));
  const agentName = z.string().regex(AGENT_NAME_RE).describe('the agent\'s name');

  server.registerTool('list_agents', {
    description: 'List the agents of the troupe cluster (name, description, model, tools, node, status).',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  }, async () => guarded(async () => text(await directory<{ agents: AgentInfo[]; tools: string[] }>({ op: 'catalog' }))));

  server.registerTool('describe_agent', {
    description: 'Describe one agent: its card (skills, model, tools), where it runs and its status.',
    inputSchema: { name: agentName },
    annotations: { readOnlyHint: true },
  }, async ({ name }) => guarded(async () => {
    const d = await directory<AgentDescription | null>({ op: 'describe', name });
    if (!d) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name} in the cluster`);
    return text(d);
  }));

  server.registerTool('run_agent', {
    description: 'Run an agent on a message and return its answer. With a progress token, the streamed output comes as progress notifications; cancelling the request cancels the run.',
    inputSchema: {
      agent: agentName,
      input: z.string().min(1).max(1_000_000).describe('the user message'),
      conversation_id: z.string().regex(CONVERSATION_ID_RE).optional().describe('continue (or start) a stored conversation'),
    },
  }, async ({ agent, input, conversation_id }, extra: Extra) => guarded(async () => {
    const progress = progressReporter(extra);
    const onDelta = progress === undefined ? undefined : (d: ModelDelta): void => {
      if (d.type === 'content' && d.text.length > 0) progress.report(d.text);
    };
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(extra.signal.reason);
    extra.signal.addEventListener('abort', onAbort, { once: true });
    const untrack = deps.track?.((why) => ac.abort(why === 'shutdown'
      ? new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node is shutting down; the run was cancelled')
      : new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'the client went away')));
    try {
      const r = await gateway.run({ kind: 'agent', name: agent }, {
        input: [{ role: 'user', content: input }],
        stream: onDelta !== undefined,
        ...(conversation_id !== undefined ? { conversationId: conversation_id } : {}),
      }, { signal: ac.signal, timeoutMs: deps.runTimeoutMs, ...(onDelta ? { onDelta } : {}) });
      // the client handles every progress notification before it reads the result
      await progress?.settle();
      return {
        content: [{ type: 'text', text: r.content ?? '' }],
        structuredContent: { run_id: r.runId, agent: r.agent, conversation_id: r.conversationId ?? null, content: r.content ?? '', finish_reason: r.finishReason, turns: r.turns },
      };
    } finally {
      extra.signal.removeEventListener('abort', onAbort);
      untrack?.();
    }
  }));

  server.registerTool('create_agent', {
    description: 'Create an agent from a spec ({ name, instructions?, model?, tools?, skills?, ... } as POST /api/v1/agents takes).',
    inputSchema: { spec: z.record(z.string(), z.unknown()).describe('the agent spec') },
  }, async ({ spec }) => guarded(async () => {
    const provider = spec['provider'];
    if (!deps.allowAgentProviders && typeof provider === 'object' && provider !== null) {
      const field = PROVIDER_OVERRIDES.find((f) => (provider as Record<string, unknown>)[f] !== undefined);
      if (field) throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `provider.${field}: agents created over MCP use the node's upstream`);
    }
    return text(await directory<AgentInfo>({ op: 'create', spec }));
  }));

  server.registerTool('delete_agent', {
    description: 'Delete an agent (it stops; its stored conversations are dropped).',
    inputSchema: { name: agentName },
    annotations: { destructiveHint: true },
  }, async ({ name }) => guarded(async () => {
    if (!(await directory<boolean>({ op: 'remove', name }))) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${name} in the cluster`);
    return text({ deleted: true, name });
  }));

  server.registerTool('cluster_status', {
    description: 'The cluster\'s members and their status (up, suspect, down), as GET /api/v1/cluster.',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  }, async () => guarded(async () => text(host.clusterInfo())));

  server.registerTool('actor_tree', {
    description: 'This node\'s supervision tree (GET /api/v1/actors).',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  }, async () => guarded(async () => text({ node: host.id, actors: host.actors() })));

  const letters = host.deadLetters;
  if (letters) {
    server.registerTool('dead_letters', {
      description: 'This node\'s dead letters (messages to stopped actors, poison messages), oldest first, paged.',
      inputSchema: {
        reason: z.string().max(64).optional(),
        limit: z.number().int().min(1).max(1_000).optional(),
        after: z.string().max(128).optional().describe('the last id of the previous page'),
      },
      annotations: { readOnlyHint: true },
    }, async ({ reason, limit, after }) => guarded(async () => text({
      deadLetters: letters.list({ limit: limit ?? 100, ...(reason ? { reason } : {}), ...(after ? { after } : {}) }),
    })));
    server.registerTool('redeliver_dead_letter', {
      description: 'Send a dead letter again to the actor it was for (and drop it from the dead letters).',
      inputSchema: { id: z.string().min(1).max(128) },
    }, async ({ id }) => guarded(async () => {
      if (!letters.get(id)) throw new TroupeError('TROUPE_ERR_DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
      await letters.redeliver(id);
      return text({ redelivered: true, id });
    }));
  }

  const taken = new Set<string>(CORE_TOOLS);
  for (const t of host.mcpTools?.() ?? []) {
    if (taken.has(t.name)) {
      host.logger.warn({ tool: t.name }, 'two MCP tools of this node have the same name; the later one is left out');
      continue;
    }
    taken.add(t.name);
    registerModuleTool(server, t);
  }
  registerTroupeResources(server, gateway);
  return server;
}

/** A module's tool (McpToolDescriptor): its zod input checked by the SDK, its result as JSON. */
function registerModuleTool(server: McpServer, t: McpToolDescriptor): void {
  server.registerTool(t.name, { description: t.description, inputSchema: t.input as z.ZodObject }, (async (input: unknown, extra: Extra) =>
    guarded(async () => text(await t.call(input, { signal: extra.signal })))) as never);
}
