import type { FastifyReply } from 'fastify';
import type { GatewayActor, GatewayTarget, RunOptions, RunRequest, RunResult } from '../actors/index.js';
import type { ModelDelta } from '../protocol/index.js';
import { TroupeError } from '../protocol/index.js';
import { withQueueOptions } from './queue-options.js';

/** Why the gateway cancels a run: its client went away, or the node is shutting down. */
export type CancelWhy = 'client' | 'shutdown';

/** Registers a run in flight with the gateway (for draining); returns the unregister. */
export type TrackRun = (cancel: (why: CancelWhy) => void) => () => void;

/** A run tied to its HTTP exchange (see {@link bindRun}). */
export interface BoundRun {
  runId: string;
  /** Start it through the gateway actor; the request's id is its correlation id. */
  run(target: GatewayTarget, req: RunRequest, onDelta?: (d: ModelDelta) => void): Promise<RunResult>;
  /** Cancel it (a `gateway.cancel` to the gateway actor). */
  cancel(error: unknown): void;
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
 * const binding = bindRun(reply, gateway, track, runTimeoutMs);
 * try { return await binding.run({ kind: 'agent', name }, req); } finally { binding.done(); }
 */
export function bindRun(reply: FastifyReply, gateway: GatewayActor, track: TrackRun, timeoutMs: number): BoundRun {
  const runId = gateway.newRunId();
  let left = false;
  const cancel = (why: CancelWhy): void => {
    if (why === 'client') left = true;
    gateway.cancel(runId, why === 'client'
      ? new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'the client disconnected')
      : new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node is shutting down; the run was cancelled'));
  };
  const untrack = track(cancel);
  // 'close' before the response finished: the client is gone, so is the run.
  const onClose = (): void => {
    if (!reply.raw.writableFinished) cancel('client');
  };
  // `on`, not `once`: the response emits 'close' once, and goes with its listener
  reply.raw.on('close', onClose);
  // Gone already (while the body was read): cancel as soon as the run is registered.
  if (reply.request.raw.socket?.destroyed) queueMicrotask(() => cancel('client'));
  return {
    runId,
    run: (target, req, onDelta) => {
      const opts: RunOptions = { runId, correlationId: reply.request.id, timeoutMs };
      if (onDelta) opts.onDelta = onDelta;
      return gateway.run(target, withQueueOptions(req, reply.request), opts);
    },
    cancel: (error) => gateway.cancel(runId, error),
    gone: () => left,
    done: untrack,
  };
}
