import { EmptyResultSchema, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Longest text of one progress notification (a delta). */
export const MAX_PROGRESS_TEXT = 4_096;

/**
 * Longest wait for the client's answer to the barrier ping. MCP requires a prompt answer to
 * ping; a client that never answers only delays its result by this much.
 */
export const PROGRESS_BARRIER_TIMEOUT_MS = 5_000;

/** The progress notifications of one tool call, for a client that sent a progress token. */
export interface ProgressReporter {
  /** Notifications sent so far. */
  readonly count: number;
  /** Send the next progress notification (progress 1, 2, ...) with this text. */
  report(message: string): void;
  /**
   * Resolves once the client has handled every notification sent so far, so the result can go
   * out. Never rejects: a failed or timed-out barrier only means the result goes out anyway.
   */
  settle(): Promise<void>;
}

/**
 * Progress notifications that reach the client before the tool's result.
 *
 * Why a barrier: the SDK client (1.x `Protocol`) handles a response at once, and a
 * notification a microtask later; handling the response drops the request's progress
 * handler. So a progress notification it reads in the same chunk as the result (its
 * `ReadBuffer` parses a whole chunk in one synchronous loop) is lost, and no write ordering on
 * this side prevents that: a stdio pipe (or a busy client) hands both lines over in one read.
 * Waiting for the write to drain only moves the race. What does hold is the order in which
 * the client handles messages: after the last progress, this server pings the client
 * (`ping`, which every MCP peer must answer) and answers the tool call only after the pong.
 * The client queued the progress handler before it handled the ping, so by the pong the
 * progress has been delivered. One round trip per call that sent progress.
 *
 * @example
 * const progress = progressReporter(extra);
 * const r = await run({ onDelta: progress ? (d) => progress.report(d.text) : undefined });
 * await progress?.settle();
 * return result(r);
 */
export function progressReporter(extra: Extra, options: { barrierTimeoutMs?: number } = {}): ProgressReporter | undefined {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  const barrierTimeoutMs = options.barrierTimeoutMs ?? PROGRESS_BARRIER_TIMEOUT_MS;
  let count = 0;
  // every notification's send, in order (a failed send is a closed connection: nothing to wait for)
  let sent: Promise<unknown> = Promise.resolve();
  return {
    get count() {
      return count;
    },
    report(message) {
      count += 1;
      const notified = extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: count, message: message.slice(0, MAX_PROGRESS_TEXT) } })
        .catch(() => undefined);
      sent = Promise.all([sent, notified]);
    },
    async settle() {
      if (count === 0) return;
      await sent;
      if (extra.signal.aborted) return;
      await extra.sendRequest({ method: 'ping' }, EmptyResultSchema, { timeout: barrierTimeoutMs, signal: extra.signal }).catch(() => undefined);
    },
  };
}
