import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../protocol/index.js';
import type { TransportStats } from './events.js';
import type { PeerTls } from './options.js';

/**
 * Largest HTTP head (request line and headers) a connection may send before its upgrade:
 * a peer's upgrade request is a few hundred bytes, so a pending connection holds little.
 */
export const MAX_UPGRADE_HEADER_BYTES = 8 * 1024;

/** What a {@link PeerListener} needs from the transport. */
export interface PeerListenerHost {
  readonly host: string;
  readonly port: number;
  readonly tls: PeerTls | undefined;
  readonly maxFrameBytes: number;
  /** Connections accepted and not yet authenticated, at most; more are dropped at once. */
  readonly maxPending: number;
  /** A connection that has not upgraded to WebSocket within this is dropped (then the link's own handshake timer runs). */
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: TransportStats;
  /** An upgraded connection: the link takes it from here. */
  accept(ws: WebSocket, req: IncomingMessage): void;
}

interface Pending {
  socket: Socket;
  timer: unknown;
}

/** The key a connection has at every layer (TCP, TLS, HTTP, WebSocket): its remote end. */
function keyOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
}

/**
 * The peer port: an HTTP (or, with `tls`, HTTPS) server that only upgrades to WebSocket.
 * Every connection is pending from TCP accept until its link authenticates: their number is
 * bounded (`maxPending`), the HTTP head each may send is bounded, and one that has not
 * upgraded within `timeoutMs` on the transport's clock is dropped (after the upgrade the
 * link's handshake timer takes over). So half-open or silent connections cannot pile up.
 *
 * @example
 * const l = new PeerListener(host); const port = await l.listen(); ... l.settled(req); await l.close();
 */
export class PeerListener {
  readonly #h: PeerListenerHost;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #pending = new Map<string, Pending>();

  constructor(host: PeerListenerHost) {
    this.#h = host;
    const t = host.tls;
    this.#server = t === undefined
      ? createHttpServer({ maxHeaderSize: MAX_UPGRADE_HEADER_BYTES })
      : createHttpsServer({
        maxHeaderSize: MAX_UPGRADE_HEADER_BYTES,
        cert: t.cert,
        key: t.key,
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        minVersion: 'TLSv1.2',
        // mutual TLS: a client without a certificate the CA signed never gets past TLS
        requestCert: t.mutual === true,
        rejectUnauthorized: t.mutual === true,
      });
    // Headers and request bodies: nothing but the upgrade is served.
    this.#server.headersTimeout = host.timeoutMs;
    this.#server.requestTimeout = host.timeoutMs;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: host.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.#server.on('connection', (socket: Socket) => this.#connection(socket));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#server.on('request', (_req, res) => {
      res.writeHead(426, { connection: 'close', 'content-type': 'text/plain' });
      res.end('troupe peer port: WebSocket upgrade required\n');
    });
    this.#server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
      socket.destroy();
    });
    this.#server.on('tlsClientError', (err: Error) => host.log.debug({ err }, 'peer TLS handshake failed'));
  }

  /** Connections accepted and not yet authenticated. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Listen; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#h.port, this.#h.host, () => {
        this.#server.off('error', reject);
        this.#server.on('error', (err) => this.#h.log.error({ err }, 'peer server error'));
        resolve((this.#server.address() as { port: number }).port);
      });
    });
  }

  /** The link of `req` authenticated: it is no longer pending. */
  settled(req: IncomingMessage): void {
    this.#forget(keyOf(req.socket));
  }

  /** Stop listening and drop every connection still pending. */
  close(): Promise<void> {
    for (const p of [...this.#pending.values()]) p.socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #connection(socket: Socket): void {
    const h = this.#h;
    if (this.#pending.size >= h.maxPending) {
      h.stats.rejectedLinks++;
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    const entry: Pending = { socket, timer: undefined };
    entry.timer = h.clock.setTimeout(() => {
      entry.timer = undefined;
      if (this.#pending.get(key) === entry) this.#forget(key);
      h.log.debug({ remote: socket.remoteAddress }, 'peer connection did not upgrade in time');
      socket.destroy();
    }, h.timeoutMs);
    this.#pending.set(key, entry);
    socket.once('close', () => {
      if (this.#pending.get(key) === entry) this.#forget(key);
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const entry = this.#pending.get(keyOf(req.socket));
    if (entry === undefined) {
      socket.destroy(); // timed out meanwhile
      return;
    }
    // Upgraded: the link's handshake timer takes over (it closes with a close code).
    this.#h.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#h.accept(ws, req));
  }

  #forget(key: string): void {
    const entry = this.#pending.get(key);
    if (entry === undefined) return;
    this.#pending.delete(key);
    if (entry.timer !== undefined) this.#h.clock.clearTimeout(entry.timer);
  }
}
