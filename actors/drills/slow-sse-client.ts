import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../../protocol/index.js';

/** Characters of the stream's start and end kept (to find its run id and its last event). */
const KEEP_CHARS = 4_096;
/** Most bytes one chat request body of the drill may have. */
const MAX_BODY = 16 * 1024;

/** Where and as whom the drill's clients reach the node's own gateway. */
export interface GatewayAccess {
  /** The gateway's base URL (`http://127.0.0.1:8787`). */
  url: string;
  /** The API key the drill's clients present (the one that started the drill), if any. */
  apiKey?: string;
}

function post(access: GatewayAccess, path: string, body: unknown): ClientRequest {
  const target = new URL(path, access.url);
  const data = JSON.stringify(body).slice(0, MAX_BODY);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) };
  if (access.apiKey !== undefined) headers['authorization'] = `Bearer ${access.apiKey}`;
  const options = { host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, path: target.pathname, method: 'POST', headers };
  // https: the drill talks to this node's own listener, whose certificate may be self-signed
  const req = target.protocol === 'https:' ? httpsRequest({ ...options, rejectUnauthorized: false }) : httpRequest(options);
  req.end(data);
  return req;
}

/** The error code in an SSE stream's last error event, or in a JSON error body. */
export function errorCodeIn(text: string): string | undefined {
  const m = /"code":"(TROUPE_ERR_[A-Z0-9_]+)"/.exec(text.slice(text.lastIndexOf('"error"')));
  return text.includes('"error"') ? m?.[1] : undefined;
}

/**
 * A real HTTP client of `POST /v1/chat/completions` with `stream: true` that reads slowly:
 * it takes one chunk of the response, then pauses for `readEveryMs` on the node's clock
 * (the socket's kernel buffers fill and the gateway's writes back up behind them), until
 * {@link SlowSseClient.hurry} lets it read at full speed. It keeps the stream's start (for
 * the run id) and end (for its last event), and counts the bytes read.
 *
 * @example
 * const c = new SlowSseClient(access, 'helper', 'hi', 100, clock);
 * const status = await c.open();
 */
export class SlowSseClient {
  receivedBytes = 0;
  private head = '';
  private tail = '';
  private res: IncomingMessage | undefined;
  private req: ClientRequest | undefined;
  private fast = false;
  private timer: unknown;
  private endedFlag = false;
  private readonly endWaiters: Array<() => void> = [];

  constructor(
    private readonly access: GatewayAccess,
    private readonly agent: string,
    private readonly content: string,
    private readonly readEveryMs: number,
    private readonly clock: Clock,
  ) {}

  /** Send the request; resolves with the response status once its headers arrive. */
  open(): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = post(this.access, '/v1/chat/completions', { model: this.agent, stream: true, messages: [{ role: 'user', content: this.content }] });
      this.req = req;
      req.on('error', (e) => {
        this.finish();
        reject(e);
      });
      req.on('response', (res) => {
        this.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.take(chunk));
        res.on('end', () => this.finish());
        res.on('close', () => this.finish());
        res.on('error', () => this.finish());
        resolve(res.statusCode ?? 0);
      });
    });
  }

  /** The run id the gateway gave the stream (`chatcmpl-<runId>`), once its first chunk was read. */
  get runId(): string | undefined {
    return /"id":"chatcmpl-([^"]+)"/.exec(this.head)?.[1];
  }

  /** True once the response ended (or the connection closed). */
  get ended(): boolean {
    return this.endedFlag;
  }

  /** True when the stream ended with `[DONE]`: the client took the whole answer. */
  get completed(): boolean {
    return this.tail.includes('data: [DONE]');
  }

  /** The code of the error event that ended the stream, if one did. */
  get endedWith(): string | undefined {
    return errorCodeIn(this.tail);
  }

  /** The start of what was read (for a non-200 answer: its body). */
  get start(): string {
    return this.head;
  }

  /** Read at full speed from now on. */
  hurry(): void {
    this.fast = true;
    this.clock.clearTimeout(this.timer);
    this.res?.resume();
  }

  /** Resolves once the response ended or `ms` passed on the clock; true when it ended. */
  whenEnded(ms: number): Promise<boolean> {
    if (this.endedFlag) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => resolve(this.endedFlag), ms);
      this.endWaiters.push(() => {
        this.clock.clearTimeout(t);
        resolve(true);
      });
    });
  }

  /** Drop the connection. Idempotent. */
  close(): void {
    this.clock.clearTimeout(this.timer);
    this.req?.destroy();
    this.finish();
  }

  private take(chunk: string): void {
    this.receivedBytes += Buffer.byteLength(chunk);
    if (this.head.length < KEEP_CHARS) this.head += chunk.slice(0, KEEP_CHARS - this.head.length);
    this.tail = (this.tail + chunk).slice(-KEEP_CHARS);
    if (this.fast || this.endedFlag) return;
    this.res!.pause();
    this.timer = this.clock.setTimeout(() => {
      if (!this.fast) this.res?.resume();
    }, this.readEveryMs);
  }

  private finish(): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    this.clock.clearTimeout(this.timer);
    for (const w of this.endWaiters.splice(0)) w();
  }
}

/** What one ordinary streaming client got: ok with [DONE], or the error code (or why not). */
export interface FastOutcome {
  ok: boolean;
  code?: string;
}

/**
 * An ordinary streaming chat client (the "other clients" of the slow-client drill): sends one
 * run and reads the whole stream at full speed; ok when it ends with `[DONE]` within `ms`.
 */
export function fastStreamingRun(access: GatewayAccess, agent: string, content: string, ms: number, clock: Clock): Promise<FastOutcome> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const done = (o: FastOutcome): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      req.destroy();
      resolve(o);
    };
    const timer = clock.setTimeout(() => done({ ok: false, code: 'no answer in time' }), ms);
    const req = post(access, '/v1/chat/completions', { model: agent, stream: true, messages: [{ role: 'user', content }] });
    req.on('error', () => done({ ok: false, code: 'connection failed' }));
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => void (text = (text + c).slice(-KEEP_CHARS)));
      res.on('end', () => {
        if (res.statusCode === 200 && text.includes('data: [DONE]')) done({ ok: true });
        else done({ ok: false, code: errorCodeIn(text) ?? `HTTP ${res.statusCode ?? 0}` });
      });
      res.on('error', () => done({ ok: false, code: 'connection failed' }));
    });
  });
}
