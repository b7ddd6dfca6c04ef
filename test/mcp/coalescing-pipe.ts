import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCNotification, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** One end of the pair: messages go to the other end on a later turn of the event loop, as over a pipe. */
class End implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  closed = false;

  constructor(private readonly deliver: (message: JSONRPCMessage) => void, private readonly peer: () => End) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('closed');
    this.deliver(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
    await this.peer().close();
  }
}

/**
 * A stdio pipe to a client that is too busy to read while the server writes notifications:
 * the server's notifications pile up in the pipe, and the client reads them in one chunk
 * together with the next request or response the server writes (the worst case a pipe
 * allows; the SDK's `ReadBuffer` then parses the whole chunk in one synchronous loop, as
 * `StdioClientTransport` does). The client's messages reach the server one by one.
 *
 * @example
 * const pipe = coalescingPipe();
 * await server.connect(pipe.server);
 * await client.connect(pipe.client);
 */
export function coalescingPipe(): { client: Transport; server: Transport; chunks: string[] } {
  const chunks: string[] = [];
  const read = new ReadBuffer();
  let pending = '';
  const client: End = new End((m) => {
    setImmediate(() => {
      if (!server.closed) server.onmessage?.(m);
    });
  }, () => server);
  const server: End = new End((m) => {
    pending += serializeMessage(m);
    if (isJSONRPCNotification(m)) return;
    const chunk = pending;
    pending = '';
    chunks.push(chunk);
    setImmediate(() => {
      if (client.closed) return;
      read.append(Buffer.from(chunk, 'utf8'));
      for (let msg = read.readMessage(); msg !== null; msg = read.readMessage()) client.onmessage?.(msg);
    });
  }, () => client);
  return { client, server, chunks };
}
