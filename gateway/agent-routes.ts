import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  DIRECTORY_PATH, DirectoryCommand, discovered, discoveryQuerySchema, searchAgents, type AgentDescription, type AgentInfo, type DirectoryOp, type GatewayActor, type RunResult, type TraceHop,
} from '../actors/index.js';
import { TroupeError, a2aTraceToWire, describeIssues } from '../protocol/index.js';
import {
  fromWireMessages, responseFormatSchema, wireMessageSchema, wireToolChoiceSchema, wireToolSchema, type ChatMessage,
  toWireToolCalls,
} from '../protocol/index.js';
import { bindRun, type TrackRun } from './run-binding.js';
import { CONVERSATION_ID_RE, CONVERSATION_ID_RULE, runKnobsFromWire } from './run-request.js';

/** Body of `POST /api/v1/agents/:name/run`. */
export const runBodySchema = z.looseObject({
  /** A user message, or messages in the OpenAI wire format. */
  input: z.union([z.string().min(1), z.array(wireMessageSchema).min(1).max(10_000)]),
  conversation_id: z.string().regex(CONVERSATION_ID_RE, CONVERSATION_ID_RULE).optional(),
  tools: z.array(wireToolSchema).max(128).optional(),
  tool_choice: wireToolChoiceSchema.optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).optional(),
  response_format: responseFormatSchema.optional(),
});

export interface AgentRoutesDeps {
  /** The gateway actor: every request becomes commands to it. */
  gateway: GatewayActor;
  nodeId: string;
  track: TrackRun;
  runTimeoutMs: number;
  /** Whether `POST /api/v1/agents` may give an agent its own upstream (baseURL, apiKey, headers). */
  allowAgentProviders: boolean;
}

/** Provider fields that point an agent at another upstream or carry credentials. */
const PROVIDER_OVERRIDES = ['baseURL', 'apiKey', 'headers'] as const;

/**
 * Refuse a spec that gives the agent its own upstream: over HTTP that would let any caller
 * make the node send requests (and stored keys) wherever it likes.
 */
function refuseProviderOverride(body: Record<string, unknown>): void {
  const provider = body['provider'];
  if (provider === undefined || provider === null || typeof provider !== 'object') return;
  const field = PROVIDER_OVERRIDES.find((f) => (provider as Record<string, unknown>)[f] !== undefined);
  if (field === undefined) return;
  throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', `provider.${field}: agents created over HTTP use the node's upstream; start the gateway with allowAgentProviders to allow provider overrides`, {
    details: { param: `provider.${field}` },
  });
}

function invalid(error: z.ZodError): TroupeError {
  return new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', describeIssues(error, '(body)'));
}

function hop(h: TraceHop): Record<string, unknown> {
  return {
    kind: h.kind,
    ...(h.actor ? { actor: h.actor } : {}),
    ...(h.node ? { node: h.node } : {}),
    ...(h.name ? { name: h.name } : {}),
    started_at: new Date(h.startedAt).toISOString(),
    duration_ms: h.durationMs,
    ...(h.ok !== undefined ? { ok: h.ok } : {}),
    ...(h.finishReason ? { finish_reason: h.finishReason } : {}),
    ...(h.error ? { error: h.error } : {}),
  };
}

/** A run result as `POST /api/v1/agents/:name/run` returns it. */
export function runResponse(r: RunResult, node: string): Record<string, unknown> {
  const gateway = r.trace.chain.find((h) => h.kind === 'gateway');
  return {
    run_id: r.runId,
    agent: r.agent,
    conversation_id: r.conversationId ?? null,
    result: {
      content: r.content,
      finish_reason: r.finishReason,
      tool_calls: toWireToolCalls(r.toolCalls),
      usage: r.usage,
    },
    metadata: { model: r.model, turns: r.turns, node, duration_ms: gateway?.durationMs ?? null },
    trace: { correlation_id: r.trace.correlationId ?? null, chain: r.trace.chain.map(hop), ...(a2aTraceToWire(r.trace) ?? {}) },
  };
}

/**
 * The agents API: `GET|POST /api/v1/agents`, `GET|DELETE /api/v1/agents/:name`,
 * `POST /api/v1/agents/:name/run`, and a conversation's history
 * (`GET|DELETE /api/v1/agents/:name/conversations/:id`). Every route sends commands to the
 * gateway actor: directory commands to the agents module's directory, runs and
 * conversation asks to the agent itself, on whichever node of the cluster it lives.
 */
export function registerAgentRoutes(app: FastifyInstance, deps: AgentRoutesDeps): void {
  const { gateway } = deps;
  const directory = <T>(op: DirectoryOp, correlationId: string): Promise<T> =>
    gateway.request<T>({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand(op), { correlationId });
  const agent = (name: string) => ({ kind: 'agent' as const, name });

  // with ?skill= and/or ?q=: the running agents of the cluster whose cards fit (discovery)
  app.get('/api/v1/agents', async (req) => {
    const query = discoveryQuerySchema.safeParse(req.query ?? {});
    if (!query.success) throw invalid(query.error);
    const catalog = await directory<{ agents: AgentInfo[]; tools: string[] }>({ op: 'catalog' }, req.id);
    if (query.data.skill === undefined && query.data.q === undefined) return catalog;
    return { agents: searchAgents(catalog.agents, query.data).map(discovered), query: query.data };
  });

  app.post('/api/v1/agents', async (req, reply) => {
    if (typeof req.body !== 'object' || req.body === null) throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', 'the body must be an agent spec (a JSON object)');
    if (!deps.allowAgentProviders) refuseProviderOverride(req.body as Record<string, unknown>);
    const info = await directory<AgentInfo>({ op: 'create', spec: req.body }, req.id);
    return reply.code(201).header('location', `/api/v1/agents/${encodeURIComponent(info.name)}`).send(info);
  });

  // any node's agent: a stopped one shows its status here (runs of it answer 503)
  app.get<{ Params: { name: string } }>('/api/v1/agents/:name', async (req) => {
    const info = await directory<AgentDescription | null>({ op: 'describe', name: req.params.name }, req.id);
    if (!info) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${req.params.name} in the cluster`);
    return info;
  });

  app.delete<{ Params: { name: string } }>('/api/v1/agents/:name', async (req) => {
    if (!(await directory<boolean>({ op: 'remove', name: req.params.name }, req.id))) {
      throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${req.params.name} in the cluster`);
    }
    return { deleted: true, name: req.params.name };
  });

  app.post<{ Params: { name: string } }>('/api/v1/agents/:name/run', async (req, reply) => {
    const r = runBodySchema.safeParse(req.body);
    if (!r.success) throw invalid(r.error);
    const b = r.data;
    const input: ChatMessage[] = typeof b.input === 'string' ? [{ role: 'user', content: b.input }] : fromWireMessages(b.input);
    const binding = bindRun(reply, gateway, deps.track, deps.runTimeoutMs);
    try {
      const result = await binding.run(agent(req.params.name), {
        input,
        ...(b.conversation_id !== undefined ? { conversationId: b.conversation_id } : {}),
        // Only the fields runBodySchema validated: the body is a loose object.
        ...runKnobsFromWire({ tools: b.tools, tool_choice: b.tool_choice, temperature: b.temperature, max_tokens: b.max_tokens, response_format: b.response_format }),
      });
      return runResponse(result, result.trace.chain.find((h) => h.kind === 'agent')?.node ?? deps.nodeId);
    } finally {
      binding.done();
    }
  });

  app.get<{ Params: { name: string; id: string } }>('/api/v1/agents/:name/conversations/:id', async (req) => {
    const c = await gateway.request(agent(req.params.name), { type: 'agent.conversation', conversationId: req.params.id }, { correlationId: req.id });
    if (!c) throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', `agent ${req.params.name} has no conversation ${req.params.id}`);
    return c;
  });

  app.delete<{ Params: { name: string; id: string } }>('/api/v1/agents/:name/conversations/:id', async (req) => {
    const existed = await gateway.request<boolean>(agent(req.params.name), { type: 'agent.forget', conversationId: req.params.id }, { correlationId: req.id });
    if (!existed) throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', `agent ${req.params.name} has no conversation ${req.params.id}`);
    return { deleted: true, conversation_id: req.params.id };
  });
}
