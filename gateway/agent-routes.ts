import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AgentRegistry, RunResult, TraceHop } from '../actors/agent/index.js';
import { TroupeError, describeIssues } from '../protocol/index.js';
import {
  fromWireMessages, responseFormatSchema, wireMessageSchema, wireToolChoiceSchema, wireToolSchema, type ChatMessage,
  toWireToolCalls,
} from '../protocol/openai.js';
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
  agents: AgentRegistry;
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
    trace: { correlation_id: r.trace.correlationId ?? null, chain: r.trace.chain.map(hop) },
  };
}

/**
 * The agents API: `GET|POST /api/v1/agents`, `GET|DELETE /api/v1/agents/:name`,
 * `POST /api/v1/agents/:name/run`, and a conversation's history
 * (`GET|DELETE /api/v1/agents/:name/conversations/:id`).
 */
export function registerAgentRoutes(app: FastifyInstance, deps: AgentRoutesDeps): void {
  const { agents } = deps;

  app.get('/api/v1/agents', async () => ({ agents: agents.list(), tools: agents.toolNames() }));

  app.post('/api/v1/agents', async (req, reply) => {
    if (typeof req.body !== 'object' || req.body === null) throw new TroupeError('TROUPE_ERR_AGENT_INVALID_SPEC', 'the body must be an agent spec (a JSON object)');
    if (!deps.allowAgentProviders) refuseProviderOverride(req.body as Record<string, unknown>);
    const info = await agents.create(req.body);
    return reply.code(201).header('location', `/api/v1/agents/${encodeURIComponent(info.name)}`).send(info);
  });

  app.get<{ Params: { name: string } }>('/api/v1/agents/:name', async (req) => {
    const info = agents.get(req.params.name);
    if (!info) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${req.params.name}`);
    const live = info.status === 'running' ? await agents.status(info.name).catch(() => undefined) : undefined;
    return { ...info, ...(live ? { live: { activeRuns: live.activeRuns, queuedRuns: live.queuedRuns, conversations: live.conversations, consecutiveFailures: live.consecutiveFailures } } : {}) };
  });

  app.delete<{ Params: { name: string } }>('/api/v1/agents/:name', async (req) => {
    if (!(await agents.remove(req.params.name))) throw new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no agent named ${req.params.name}`);
    return { deleted: true, name: req.params.name };
  });

  app.post<{ Params: { name: string } }>('/api/v1/agents/:name/run', async (req, reply) => {
    const r = runBodySchema.safeParse(req.body);
    if (!r.success) throw invalid(r.error);
    const b = r.data;
    const ref = agents.require(req.params.name);
    const input: ChatMessage[] = typeof b.input === 'string' ? [{ role: 'user', content: b.input }] : fromWireMessages(b.input);
    const binding = bindRun(reply, agents, deps.track, deps.runTimeoutMs);
    try {
      const result = await binding.run(ref, {
        input,
        ...(b.conversation_id !== undefined ? { conversationId: b.conversation_id } : {}),
        // Only the fields runBodySchema validated: the body is a loose object.
        ...runKnobsFromWire({ tools: b.tools, tool_choice: b.tool_choice, temperature: b.temperature, max_tokens: b.max_tokens, response_format: b.response_format }),
      });
      return runResponse(result, deps.nodeId);
    } finally {
      binding.done();
    }
  });

  app.get<{ Params: { name: string; id: string } }>('/api/v1/agents/:name/conversations/:id', async (req) => {
    const c = await agents.conversation(req.params.name, req.params.id);
    if (!c) throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', `agent ${req.params.name} has no conversation ${req.params.id}`);
    return c;
  });

  app.delete<{ Params: { name: string; id: string } }>('/api/v1/agents/:name/conversations/:id', async (req) => {
    const existed = await agents.forget(req.params.name, req.params.id);
    if (!existed) throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', `agent ${req.params.name} has no conversation ${req.params.id}`);
    return { deleted: true, conversation_id: req.params.id };
  });
}
