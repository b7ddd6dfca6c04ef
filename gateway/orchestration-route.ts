import type { FastifyReply, FastifyRequest } from 'fastify';
import { TERMINAL_SESSION, type Orchestrator, type SessionProgress, type SessionState } from '../actors/index.js';
import { TroupeError, errorCatalog, type ChatCompletionRequest, type Clock, type ErrorCode } from '../protocol/index.js';
import { toOpenAIError } from './errors.js';
import type { CancelWhy, TrackRun } from './run-binding.js';
import { SseStream } from './sse.js';

/** What the complex path needs from the OpenAI routes. */
export interface OrchestrationDeps {
  orchestrator: Orchestrator;
  track: TrackRun;
  sseMaxBufferedBytes: number;
  /** The node's clock: a completion's `created`. */
  clock: Clock;
}

/** Where a chat request goes: an agent (simple path, or not the orchestrator's model), or done here. */
export type ChatRoute = { agent: string } | { handled: true; value: unknown };

const SESSION_ID_RE = /^[A-Za-z0-9_-]{1,100}$/;

function header(req: FastifyRequest, name: string): string | undefined {
  const h = req.headers[name];
  return Array.isArray(h) ? h[0] : h;
}

/** The text of the last user message. */
function lastUserText(body: ChatCompletionRequest): string {
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const m = body.messages[i] as { role: string; content?: unknown };
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return m.content.map((p: { type?: string; text?: string }) => (p?.type === 'text' ? p.text ?? '' : '')).join('\n');
  }
  return '';
}

/** One attributed progress line: which agent does what. */
function progressLine(p: SessionProgress): string | undefined {
  switch (p.type) {
    case 'node.started': return `[${p.agent}] ${p.node}: started${p.attempt > 1 ? ` (attempt ${p.attempt})` : ''}\n`;
    case 'node.completed': return `[${p.agent}] ${p.node}: done\n`;
    case 'node.failed': return `[${p.agent}] ${p.node}: failed: ${p.error.slice(0, 200)}\n`;
    case 'node.skipped': return `[orchestrator] ${p.node}: skipped (${p.reason.slice(0, 200)})\n`;
    case 'approval.requested': return `[orchestrator] ${p.node}: waiting for approval ${p.approval}\n`;
    case 'dag.revised': return `[orchestrator] plan revised after ${p.after}: added ${p.added.join(', ') || 'none'}; removed ${p.removed.join(', ') || 'none'}\n`;
    default: return undefined;
  }
}

/** What the client reads when the workflow stops: the answer, or what it waits for. */
function outcome(s: SessionState): string {
  if (s.status === 'completed') return s.answer ?? '';
  if (s.status === 'waiting_approval') {
    const open = Object.values(s.approvals).filter((a) => a.status === 'pending' || a.status === 'escalated');
    return `Waiting for approval: ${open.map((a) => `${a.id} (${a.action} by ${a.agent})`).join(', ')}. Decide with POST /v1/approvals/:id, then send the request again with x-session-id: ${s.id}.`;
  }
  throw sessionError(s);
}

function sessionError(s: SessionState): TroupeError {
  const code = s.error?.code;
  const known = code !== undefined && Object.hasOwn(errorCatalog, code) ? (code as ErrorCode) : 'TROUPE_ERR_SESSION_NODE_FAILED';
  return new TroupeError(known, s.error?.message ?? `session ${s.id} ${s.status}`, { details: { session_id: s.id } });
}

function troupeField(s: SessionState): Record<string, unknown> {
  return { session_id: s.id, status: s.status, approvals: Object.values(s.approvals).filter((a) => !TERMINAL_SESSION.has(s.status) && (a.status === 'pending' || a.status === 'escalated')).map((a) => a.id) };
}

/**
 * The router in front of `POST /v1/chat/completions` for the orchestrator's model: it says
 * where the request goes (headers `x-troupe-route`, `x-troupe-route-reason`), and runs the
 * complex path here: a new workflow or, with `x-session-id`, the one it resumes; its progress
 * streams as attributed chunks, then the answer. Other models pass through untouched.
 */
export async function routeChat(req: FastifyRequest, reply: FastifyReply, body: ChatCompletionRequest, deps: OrchestrationDeps): Promise<ChatRoute> {
  const o = deps.orchestrator;
  if (body.model !== o.options.model) return { agent: body.model };
  const sessionId = header(req, 'x-session-id');
  if (sessionId !== undefined && !SESSION_ID_RE.test(sessionId)) {
    throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', 'x-session-id: 1-100 of [A-Za-z0-9_-]', { details: { param: 'x-session-id' } });
  }
  const text = lastUserText(body);
  const d = await o.route({
    hasTools: (body.tools?.length ?? 0) > 0, hasResponseFormat: body.response_format != null,
    skipHeader: header(req, 'x-skip-orchestration'), forceHeader: header(req, 'x-orchestrate'), sessionId, text,
  });
  reply.header('x-troupe-route', d.route).header('x-troupe-route-reason', d.reason);
  if (d.route === 'simple') return { agent: o.options.simpleAgent };

  const abort = new AbortController();
  const untrack = deps.track((why: CancelWhy) => abort.abort(why));
  const onClose = (): void => {
    if (!reply.raw.writableFinished) abort.abort('client');
  };
  reply.raw.once('close', onClose);
  try {
    const stream = body.stream === true;
    const lines: SessionProgress[] = [];
    let push: ((p: SessionProgress) => void) | undefined;
    const onProgress = (p: SessionProgress): void => (push ? push(p) : void lines.push(p));
    const id = sessionId ?? await o.start(text || 'answer the request', stream ? { onProgress } : {});
    reply.header('x-session-id', id);
    const created = Math.floor(deps.clock.now() / 1000);
    const chatId = `chatcmpl-${id}`;
    const shutdown = (e: unknown): never => {
      if (abort.signal.reason === 'shutdown') throw new TroupeError('TROUPE_ERR_NODE_CLOSED', `the node is shutting down; session ${id} goes on after its restart`, { details: { session_id: id } });
      throw e;
    };
    if (!stream) {
      const s = await o.attach(id, { signal: abort.signal }).catch(shutdown);
      return { handled: true, value: completion(chatId, body.model, created, outcome(s), s) };
    }
    const attach = o.attach(id, { signal: abort.signal, onProgress }).catch(shutdown);
    // headers go out now: the stream carries progress while the workflow runs
    reply.hijack();
    reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const sse = new SseStream(reply.raw, deps.sseMaxBufferedBytes, () => abort.abort('client'));
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}): string => JSON.stringify({
      id: chatId, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra,
    });
    sse.send(chunk({ role: 'assistant', content: '', refusal: null }));
    const send = (p: SessionProgress): void => {
      const line = progressLine(p);
      if (line !== undefined) sse.send(chunk({ content: line }, null, { troupe: { event: p.type, session_id: p.session, ...('node' in p ? { node: p.node } : {}), ...('agent' in p ? { agent: p.agent } : {}) } }));
    };
    for (const p of lines.splice(0)) send(p);
    push = send;
    try {
      const s = await attach;
      sse.send(chunk({ content: `\n${outcome(s)}` }, null, { troupe: { event: 'answer', ...troupeField(s) } }));
      sse.send(chunk({}, 'stop'));
      sse.end('[DONE]');
    } catch (e) {
      sse.end(abort.signal.aborted && abort.signal.reason === 'client' ? undefined : JSON.stringify(toOpenAIError(e).body));
    }
    return { handled: true, value: reply };
  } finally {
    reply.raw.off('close', onClose);
    untrack();
  }
}

function completion(id: string, model: string, created: number, content: string, s: SessionState): Record<string, unknown> {
  return {
    id, object: 'chat.completion', created, model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    system_fingerprint: null,
    troupe: troupeField(s),
  };
}
