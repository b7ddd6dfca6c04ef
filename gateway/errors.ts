import type { FastifyReply } from 'fastify';
import { TroupeError, errorCatalog, type ErrorCode } from '../protocol/index.js';

/** Routes under `/v1/` answer errors in the OpenAI envelope; everything else in troupe's. */
export function isOpenAIPath(url: string): boolean {
  return url.startsWith('/v1/') || url === '/v1';
}

/**
 * Send an error in the envelope of the route: `{ error: { message, type, param, code } }`
 * under /v1 (OpenAI), `{ error: { code, message } }` with a TROUPE_ERR_* code elsewhere.
 */
export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const err = toTroupeError(e);
  if (isOpenAIPath(reply.request.url)) return sendOpenAIError(reply, err);
  logServerError(reply, err);
  const retryAfterMs = err.details?.['retryAfterMs'];
  if (typeof retryAfterMs === 'number' && !reply.hasHeader('retry-after')) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return reply.code(err.status).send({ error: { code: err.code, message: clientMessage(err), ...(err.details ? { details: err.details } : {}) } });
}

/**
 * Codes whose message is made inside the node (a crash, storage, supervision) and may name
 * files, keys or internals: the client gets the catalog's description instead, and the
 * node's log gets the message and its cause.
 */
const INTERNAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TROUPE_ERR_ACTOR_FAILED', 'TROUPE_ERR_STORAGE_WRITE', 'TROUPE_ERR_STORAGE_CORRUPT_RECORD', 'TROUPE_ERR_STORAGE_SECRET',
  'TROUPE_ERR_STORAGE_CLOSED', 'TROUPE_ERR_STORAGE_LOCKED', 'TROUPE_ERR_SUPERVISOR_INTENSITY', 'TROUPE_ERR_SUPERVISOR_ESCALATED',
  'TROUPE_ERR_CONFIG_INVALID', 'TROUPE_ERR_TRANSPORT_LISTEN', 'TROUPE_ERR_GATEWAY_INTERNAL', 'TROUPE_ERR_NODE_MODULE_START',
]);

/** Absolute POSIX paths of two segments or more (not the path of a URL), and Windows ones. */
const PATH_RE = /(?<![\w.:/~-])\/(?:[\w.@+-]+\/)+[\w.@+-]*|\b[A-Za-z]:\\[^\s'"`]+/g;
/** Bearer tokens and OpenAI-style keys. */
const SECRET_RE = /\b(Bearer\s+)\S+|\bsk-[A-Za-z0-9_-]{6,}/gi;

/**
 * The message a client may see for an error. 5xx messages never carry filesystem paths or
 * secrets: internal codes get their catalog description, the others are scrubbed.
 *
 * @example
 * clientMessage(new TroupeError('TROUPE_ERR_ACTOR_FAILED', "EACCES: open '/srv/troupe/data/lock.mdb'"));
 * // 'the actor crashed while handling the asked message'
 */
export function clientMessage(err: TroupeError): string {
  if (err.status < 500) return err.message;
  if (INTERNAL_CODES.has(err.code)) return errorCatalog[err.code].description;
  return err.message.replace(PATH_RE, '<path>').replace(SECRET_RE, (_m, bearer?: string) => (bearer ? `${bearer}<redacted>` : '<redacted>'));
}

/** Every 5xx is logged at error with its cause (the client only sees {@link clientMessage}). */
function logServerError(reply: FastifyReply, err: TroupeError): void {
  if (err.status < 500) return;
  reply.request.log.error({ err, code: err.code, status: err.status, cause: err.cause }, 'request failed');
}

/** Map anything thrown (fastify's own errors included) onto a coded TroupeError. */
export function toTroupeError(e: unknown): TroupeError {
  if (e instanceof TroupeError) return e;
  const fe = e as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new TroupeError('TROUPE_ERR_GATEWAY_BODY_TOO_LARGE', fe.message, { cause: e });
  if (fe?.statusCode === 429) return new TroupeError('TROUPE_ERR_GATEWAY_RATE_LIMITED', fe.message, { cause: e });
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', fe.message ?? 'bad request', { cause: e });
  return new TroupeError('TROUPE_ERR_GATEWAY_INTERNAL', (e as Error)?.message ?? String(e), { cause: e });
}

/** The OpenAI error object: `{ message, type, param, code }`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** OpenAI's own `code` values where one fits; otherwise troupe's code. */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = {
  TROUPE_ERR_GATEWAY_UNAUTHORIZED: 'invalid_api_key',
  TROUPE_ERR_AGENT_NOT_FOUND: 'model_not_found',
  TROUPE_ERR_GATEWAY_RATE_LIMITED: 'rate_limit_exceeded',
  TROUPE_ERR_MODEL_RATE_LIMITED: 'rate_limit_exceeded',
  TROUPE_ERR_GATEWAY_BODY_TOO_LARGE: 'request_too_large',
  TROUPE_ERR_GATEWAY_NOT_FOUND: 'unknown_url',
};

function openAIType(status: number): string {
  if (status === 429) return 'requests';
  if (status === 403) return 'permission_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * The OpenAI envelope (and HTTP status) for an error: 400 invalid body (with `param`),
 * 401 bad key, 404 unknown model, 429 with `retry-after`, 5xx upstream failures.
 *
 * @example
 * const { status, body } = toOpenAIError(new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', "The model 'x' does not exist"));
 * // status 404, body.error.code 'model_not_found'
 */
export function toOpenAIError(e: unknown): { status: number; body: OpenAIErrorBody; retryAfterS?: number } {
  const err = toTroupeError(e);
  const param = typeof err.details?.['param'] === 'string' ? (err.details['param'] as string) : null;
  const retryAfterMs = err.details?.['retryAfterMs'];
  return {
    status: err.status,
    body: { error: { message: clientMessage(err), type: openAIType(err.status), param, code: OPENAI_CODES[err.code] ?? err.code } },
    ...(typeof retryAfterMs === 'number' ? { retryAfterS: Math.max(1, Math.ceil(retryAfterMs / 1000)) } : {}),
  };
}

export function sendOpenAIError(reply: FastifyReply, e: unknown): FastifyReply {
  const err = toTroupeError(e);
  logServerError(reply, err);
  const { status, body, retryAfterS } = toOpenAIError(err);
  if (retryAfterS !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfterS));
  return reply.code(status).send(body);
}
