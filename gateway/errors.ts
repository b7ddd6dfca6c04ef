import type { FastifyReply } from 'fastify';
import { TroupeError, errorCatalog, type ErrorCode } from '../protocol/index.js';

/** `{ error: { code, message } }`: the envelope of every non-/v1, non-A2A route. */
export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const err = toTroupeError(e);
  return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
}

export function toTroupeError(e: unknown): TroupeError {
  if (e instanceof TroupeError) return e;
  const fe = e as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new TroupeError('TROUPE_ERR_GATEWAY_BODY_TOO_LARGE', fe.message, { cause: e });
  if (fe?.statusCode === 429) return new TroupeError('TROUPE_ERR_GATEWAY_RATE_LIMITED', fe.message, { cause: e });
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', fe.message ?? 'bad request', { cause: e });
  return new TroupeError('TROUPE_ERR_ACTOR_FAILED', (e as Error)?.message ?? String(e), { cause: e });
}

export function statusOf(code: ErrorCode): number {
  return errorCatalog[code].status;
}
