import { TroupeError, serializeError, type SerializedError } from '../../protocol/index.js';
import type { Context } from '../kernel/index.js';
import type { AgentInbox } from './agent-inbox.js';
import type { RequesterMessage } from './messages.js';
import { AgentErrorMessage } from './requester-messages.js';

/**
 * Tell a run's requester (with the run's correlation id, not that of whichever message the
 * handler is on); false when it could not be told. A result that cannot be delivered
 * becomes an error, so the caller is not left waiting for its own timeout. An error that
 * cannot be delivered either is logged (and dead-lettered by the kernel when the
 * requester's mailbox is full): the requester's own run deadline ends its wait.
 *
 * @example
 * toRequester(ctx, msg.replyTo, { type: 'agent.result', runId, result }, correlationId);
 */
export function toRequester(ctx: Context<AgentInbox>, to: string, msg: RequesterMessage, correlationId?: string): boolean {
  try {
    ctx.tell(to, msg, correlationId === undefined ? undefined : { correlationId });
    return true;
  } catch (e) {
    if (msg.type === 'agent.result') {
      ctx.log.warn({ err: e, to, runId: msg.runId }, 'could not deliver the result; failing the run');
      const why = serializeError(e);
      toRequester(ctx, to, new AgentErrorMessage(msg.runId, { ...why, message: `the run finished but its result could not be delivered: ${why.message}` }), correlationId);
    } else {
      ctx.log.warn({ err: e, to, runId: msg.runId, type: msg.type }, 'could not reach the requester');
    }
    return false;
  }
}

/**
 * Tell a run's requester that it failed (see {@link toRequester}).
 *
 * @example
 * fail(ctx, q.msg.replyTo, q.msg.runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'cancelled'), q.correlationId);
 */
export function fail(ctx: Context<AgentInbox>, to: string, runId: string, error: SerializedError | TroupeError, correlationId?: string): void {
  toRequester(ctx, to, new AgentErrorMessage(runId, error instanceof TroupeError ? error.toJSON() : error), correlationId);
}
