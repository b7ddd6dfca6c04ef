import type { FastifyReply } from 'fastify';
import type { ActorRef } from '../actors/index.js';
import type { AgentRegistry, RunRequest, RunResult } from '../actors/agent/index.js';
import type { ModelDelta } from '../protocol/openai.js';
import { TroupeError, prefixedId } from '../protocol/index.js';

/** Why the gateway cancels a run: its client went away, or the node is shutting down. */
export type CancelWhy = 'client' | 'shutdown';

/** Registers a run in flight with the gateway (for draining); returns the unregister. */
export type TrackRun = (cancel: (why: CancelWhy) => void) => () => void;

/** A run tied to its HTTP exchange (see {@link bindRun}). */
export interface BoundRun {
  runId: string;
  /** Start it: the request's id is its correlation id; the routes built it from a validated body (trusted). */
  run(ref: ActorRef | string, req: RunRequest, onDelta?: (d: ModelDelta) => void): Promise<RunResult>;
  /** The client went away. */
  gone(): boolean;
  /** The exchange is over. */
  done(): void;
}

/**
 * Tie a run to its HTTP exchange: a client that goes away, or a shutdown past its drain
 * time, cancels it (and the agent aborts the upstream request). A run cancelled for
 * shutdown fails with 503 for a client that is still there. The one way the routes start
 * runs.
 *
 * @example
 * const binding = bindRun(reply, agents, track, runTimeoutMs);
 * try { return await binding.run(ref, req); } finally { binding.done(); }
 */
export function bindRun(reply: FastifyReply, agents: AgentRegistry, track: TrackRun, timeoutMs: number): BoundRun {
  const runId = prefixedId('run_');
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
  return {
    runId,
    run: (ref, req, onDelta) => agents.client.run(ref, req, { runId, correlationId: reply.request.id, timeoutMs, trusted: true, ...(onDelta ? { onDelta } : {}) }),
    gone: () => left,
    done: untrack,
  };
}
