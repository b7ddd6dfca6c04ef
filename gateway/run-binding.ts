import type { FastifyReply } from 'fastify';
import type { AgentRegistry } from '../actors/agent/index.js';
import { TroupeError } from '../protocol/index.js';

/** Why the gateway cancels a run: its client went away, or the node is shutting down. */
export type CancelWhy = 'client' | 'shutdown';

/** Registers a run in flight with the gateway (for draining); returns the unregister. */
export type TrackRun = (cancel: (why: CancelWhy) => void) => () => void;

/**
 * Tie a run to its HTTP exchange: a client that goes away, or a shutdown past its drain
 * time, cancels it (and the agent aborts the upstream request). A run cancelled for
 * shutdown fails with 503 for a client that is still there. Returns `gone()` (the client
 * left) and `done()` to call when the exchange is over.
 *
 * @example
 * const binding = bindRun(reply, agents, runId, track);
 * try { return await agents.client.run(ref, req, { runId }); } finally { binding.done(); }
 */
export function bindRun(reply: FastifyReply, agents: AgentRegistry, runId: string, track: TrackRun): { gone: () => boolean; done: () => void } {
  let left = false;
  const cancel = (why: CancelWhy): void => {
    if (why === 'client') left = true;
    agents.client.cancel(runId, why === 'client'
      ? new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'the client disconnected')
      : new TroupeError('TROUPE_ERR_GATEWAY_NOT_READY', 'the node is shutting down; the run was cancelled'));
  };
  const untrack = track(cancel);
  // 'close' before the response finished: the client is gone, so is the run.
  const onClose = (): void => {
    if (!reply.raw.writableFinished) cancel('client');
  };
  reply.raw.once('close', onClose);
  // Gone already (while the body was read): cancel as soon as the run is registered.
  if (reply.request.raw.socket?.destroyed) queueMicrotask(() => cancel('client'));
  return { gone: () => left, done: untrack };
}
