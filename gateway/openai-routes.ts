import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  DIRECTORY_PATH, DirectoryCommand, newMessages, type AgentSummary, type GatewayActor, type RunRequest,
} from '../actors/index.js';
import { TroupeError, type Clock } from '../protocol/index.js';
import { fromWireMessages, zodErrorToOpenAIParam, type ChatCompletionRequest } from '../protocol/index.js';
import { parseChatRequest } from './chat-request.js';
import { toOpenAIError } from './errors.js';
import { ChunkWriter, JSON_UTF8, completionJson, toModel } from './openai-format.js';
import { bindRun, type BoundRun, type TrackRun } from './run-binding.js';
import { CONVERSATION_ID_RE, CONVERSATION_ID_RULE, runKnobsFromWire } from './run-request.js';
import { SseStream } from './sse.js';
import { routeChat, type OrchestrationDeps } from './orchestration-route.js';

/** What the OpenAI routes need from the gateway. */
export interface OpenAIRoutesDeps {
  /** The gateway actor: every request becomes commands to it. */
  gateway: GatewayActor;
  /** Runs in flight are tracked so shutdown can drain or cancel them. */
  track: TrackRun;
  /** Time limit of a run seen from the gateway. */
  runTimeoutMs: number;
  /** Unsent SSE output past which a slow client's run is cancelled. */
  sseMaxBufferedBytes: number;
  /** The router in front of the orchestrator's model, when the node runs the orchestrator. */
  orchestration?: OrchestrationDeps;
  /** The node's clock: a completion's `created`. */
  clock: Clock;
}

function badRequest(message: string, param: string | null): TroupeError {
  return new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', message, { details: { param } });
}

function modelNotFound(model: string): TroupeError {
  return new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `The model '${model}' does not exist or you do not have access to it.`, { details: { param: 'model' } });
}

/** The conversation id of a request: the `x-conversation-id` header, validated. */
function conversationOf(req: FastifyRequest): string | undefined {
  const h = req.headers['x-conversation-id'];
  if (h === undefined) return undefined;
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || !CONVERSATION_ID_RE.test(v)) {
    throw badRequest(`x-conversation-id: ${CONVERSATION_ID_RULE}`, 'x-conversation-id');
  }
  return v;
}

/** Turn a validated OpenAI request into a run request. */
export function runRequestOf(body: ChatCompletionRequest, conversationId: string | undefined): RunRequest {
  if (body.n != null && body.n !== 1) throw badRequest('n > 1 is not supported: a troupe agent run yields exactly one choice; send n requests for n choices', 'n');
  let input = fromWireMessages(body.messages);
  // A stored conversation already holds the earlier turns: add only what is new.
  if (conversationId !== undefined) input = newMessages(input);
  if (input.length === 0) throw badRequest('no new message after the last assistant message', 'messages');
  const run: RunRequest = { input, stream: body.stream === true };
  if (conversationId !== undefined) run.conversationId = conversationId;
  return Object.assign(run, runKnobsFromWire({
    tools: body.tools, tool_choice: body.tool_choice, temperature: body.temperature, max_tokens: body.max_completion_tokens ?? body.max_tokens,
    stop: body.stop, seed: body.seed, response_format: body.response_format,
  }));
}

/**
 * `POST /v1/chat/completions` (JSON or SSE), `GET /v1/models`, `GET /v1/models/:id`.
 * `model` names an agent. The client going away cancels the run, and with it the upstream
 * request.
 */
export function registerOpenAIRoutes(app: FastifyInstance, deps: OpenAIRoutesDeps): void {
  const { gateway } = deps;
  const directory = (op: ConstructorParameters<typeof DirectoryCommand>[0], correlationId: string): Promise<unknown> =>
    gateway.request({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand(op), { correlationId });

  // agents anywhere in the cluster, since `model` may name any of them
  app.get('/v1/models', async (req) => ({ object: 'list', data: (await directory({ op: 'models' }, req.id) as AgentSummary[]).map(toModel) }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    const a = await directory({ op: 'model', name: req.params.id }, req.id) as AgentSummary | null;
    if (!a) throw modelNotFound(req.params.id);
    return toModel(a);
  });

  app.post('/v1/chat/completions', async (req, reply) => {
    const parsed = parseChatRequest(req.body);
    if (!parsed.success) {
      const { message, param } = zodErrorToOpenAIParam(parsed.error);
      throw badRequest(message, param);
    }
    const body = parsed.data;
    const run = runRequestOf(body, conversationOf(req));
    // Only the orchestrator's own model goes through its router (which may take a model call
    // to decide); any other model names its agent, with no promise to wait on.
    const orchestration = deps.orchestration;
    const routed = orchestration !== undefined && body.model === orchestration.orchestrator.options.model
      ? await routeChat(req, reply, body, orchestration)
      : { agent: body.model };
    if ('handled' in routed) return routed.value;
    const target = { kind: 'agent' as const, name: routed.agent };
    const binding = bindRun(reply, gateway, deps.track, deps.runTimeoutMs);
    const created = Math.floor(deps.clock.now() / 1000);
    try {
      if (!run.stream) {
        const result = await binding.run(target, run);
        // JSON text in the completion's shape: fastify sends a string with a JSON type as it is
        reply.header('content-type', JSON_UTF8);
        return completionJson(result, `chatcmpl-${binding.runId}`, body.model, created);
      }
      await stream(reply, body, run, binding, created, deps, target.name);
      return reply;
    } catch (e) {
      throw asModelError(e, body.model);
    } finally {
      binding.done();
    }
  });
}

/** An unknown or stopped agent is an unknown or stopped `model` to an OpenAI client. */
function asModelError(e: unknown, model: string): unknown {
  if (!(e instanceof TroupeError)) return e;
  if (e.code === 'TROUPE_ERR_AGENT_NOT_FOUND') return modelNotFound(model);
  if (e.code === 'TROUPE_ERR_AGENT_STOPPED') {
    return new TroupeError('TROUPE_ERR_AGENT_STOPPED', `The model '${model}' is stopped: ${e.message}`, { details: { ...e.details, param: 'model' } });
  }
  return e;
}

async function stream(
  reply: FastifyReply,
  body: ChatCompletionRequest,
  run: RunRequest,
  binding: BoundRun,
  created: number,
  deps: OpenAIRoutesDeps,
  agent = body.model,
): Promise<void> {
  const { runId } = binding;
  const chunks = new ChunkWriter(`chatcmpl-${runId}`, body.model, created, body.stream_options?.include_usage === true);
  const raw = reply.raw;
  const limit = deps.sseMaxBufferedBytes;
  // A client that reads slower than the model writes would otherwise grow this buffer
  // without bound: past the limit its run is cancelled and the stream ends with the error.
  const sse = new SseStream(raw, limit, () => binding.cancel(new TroupeError(
    'TROUPE_ERR_AGENT_CANCELLED', `the client read the stream too slowly (over ${limit} bytes were waiting); the run was cancelled`,
    { details: { sseMaxBufferedBytes: limit } },
  )));
  let open = false;
  // Headers go out with the first piece of output: a failure before it is a plain HTTP error.
  const begin = (): void => {
    if (open) return;
    open = true;
    reply.hijack();
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    sse.send(chunks.role());
  };
  try {
    const result = await binding.run({ kind: 'agent', name: agent }, run, (d) => {
      begin();
      sse.send(chunks.delta(d));
    });
    begin();
    sse.send(chunks.finish(result.finishReason));
    if (body.stream_options?.include_usage === true) sse.send(chunks.usage(result.usage));
    sse.end('[DONE]');
  } catch (e) {
    if (!open) throw e;
    // Mid-stream: OpenAI sends an error event and ends the stream (no [DONE]).
    sse.end(binding.gone() ? undefined : JSON.stringify(toOpenAIError(e).body));
  }
}
