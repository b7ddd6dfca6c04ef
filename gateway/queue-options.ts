import type { FastifyRequest } from 'fastify';
import type { RunRequest } from '../actors/index.js';
import { TroupeError } from '../protocol/index.js';

/** The request header naming the longest wait for one of the agent's run slots, in ms. */
export const QUEUE_DEADLINE_HEADER = 'x-troupe-queue-deadline-ms';
const MAX_QUEUE_DEADLINE_MS = 3_600_000;

/**
 * A run request with what the HTTP exchange says about queueing: the caller (the id of the
 * API key, never the key: the agent's queue is fair over callers) and the
 * `x-troupe-queue-deadline-ms` header (0 to 3,600,000; without it the agent's
 * `limits.queueDeadlineMs`). A malformed header is a 400.
 *
 * @example
 * gateway.run(target, withQueueOptions(run, reply.request), options);
 */
export function withQueueOptions(run: RunRequest, req: FastifyRequest): RunRequest {
  const raw = req.headers[QUEUE_DEADLINE_HEADER];
  const caller = req.apiKeyId;
  if (raw === undefined && caller === undefined) return run;
  const out: RunRequest = { ...run };
  if (caller !== undefined) out.caller = caller;
  if (raw !== undefined) {
    const v = Array.isArray(raw) ? raw[0] : raw;
    const n = v !== undefined && /^\d{1,7}$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!(n >= 0 && n <= MAX_QUEUE_DEADLINE_MS)) {
      throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `${QUEUE_DEADLINE_HEADER}: an integer number of ms from 0 to ${MAX_QUEUE_DEADLINE_MS}`, {
        details: { param: QUEUE_DEADLINE_HEADER },
      });
    }
    out.queueDeadlineMs = n;
  }
  return out;
}
