/** The part of a node response an SSE stream writes to (a `ServerResponse`, or a test twin). */
export interface SseSink {
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  /** Bytes written but not yet handed to the socket: what a slow client leaves in memory. */
  readonly writableLength: number;
  write(chunk: string): boolean;
  end(): void;
}

/**
 * Server-sent events with a bound on what may wait in memory for a slow client. Once more
 * than `maxBufferedBytes` of output is unsent, `onOverflow` runs (once) and further events
 * are dropped; `end` still writes the closing event, which is small, so the client learns
 * why its stream stopped.
 *
 * @example
 * const sse = new SseStream(reply.raw, 1024 * 1024, () => agents.client.cancel(runId, tooSlow));
 * sse.send(JSON.stringify(chunk));
 * sse.end('[DONE]');
 */
export class SseStream {
  private overflowed = false;

  constructor(
    private readonly sink: SseSink,
    private readonly maxBufferedBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  /** True once the client fell too far behind. */
  get overflow(): boolean {
    return this.overflowed;
  }

  /** One `data:` event, unless the client fell too far behind or left. */
  send(data: string): void {
    if (this.overflowed || !this.open) return;
    this.sink.write(`data: ${data}\n\n`);
    if (this.sink.writableLength > this.maxBufferedBytes) {
      this.overflowed = true;
      this.onOverflow();
    }
  }

  /** Write the last event (if any) and end the response; idempotent. */
  end(last?: string): void {
    if (!this.open) return;
    if (last !== undefined) this.sink.write(`data: ${last}\n\n`);
    this.sink.end();
  }

  private get open(): boolean {
    return !this.sink.writableEnded && !this.sink.destroyed;
  }
}
