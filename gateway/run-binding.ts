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
 * One object per exchange, its methods on the prototype: a run on every request would
 * otherwise make six closures and their context.
 */
class ExchangeRun implements BoundRun {
  readonly runId: string;
  private left = false;
  /** Bound once: the gateway's drain table and the response's 'close' both hold it. */
  private readonly cancelFor: (why: CancelWhy) => void;
  private readonly untrack: () => void;

  constructor(private readonly reply: FastifyReply, private readonly gateway: GatewayActor, track: TrackRun, private readonly timeoutMs: number) {
    this.runId = gateway.newRunId();
    this.cancelFor = (why) => this.cancelled(why);
    this.untrack = track(this.cancelFor);
    // 'close' before the response finished: the client is gone, so is the run.
    // `on`, not `once`: the response emits 'close' once, and goes with its listener
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) this.cancelled('client');
    });
    // Gone already (while the body was read): cancel as soon as the run is registered.
    if (reply.request.raw.socket?.destroyed) queueMicrotask(() => this.cancelled('client'));
  }

  private cancelled(why: CancelWhy): void {
    if (why === 'client') this.left = true;
    this.gateway.cancel(this.runId, why === 'client'
      ? new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'the client disconnected')
      : new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node is shutting down; the run was cancelled'));
  }

  run(target: GatewayTarget, req: RunRequest, onDelta?: (d: ModelDelta) => void): Promise<RunResult> {
    const request = this.reply.request;
    const opts: RunOptions = { runId: this.runId, correlationId: request.id, timeoutMs: this.timeoutMs };
    if (onDelta) opts.onDelta = onDelta;
    return this.gateway.run(target, withQueueOptions(req, request), opts);
  }

  cancel(error: unknown): void {
    this.gateway.cancel(this.runId, error);
  }

  gone(): boolean {
    return this.left;
  }

  done(): void {
    this.untrack();
  }
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
  return new ExchangeRun(reply, gateway, track, timeoutMs);
}
