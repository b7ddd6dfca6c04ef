import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { TroupeError } from '../../../protocol/index.js';

/** How the provider reaches its upstream: one keep-alive pool per provider. */
export interface UpstreamPoolOptions {
  /** Most sockets open to the upstream at once; further requests wait for one. */
  maxConnections: number;
  /** How long an idle socket stays open for the next request. */
  keepAliveMs: number;
  /** Longest silence while a response body arrives (undici's bodyTimeout): a stalled answer fails. */
  idleTimeoutMs: number;
  /** Largest whole (non-streamed) response body taken from the upstream. */
  maxResponseBytes: number;
}

/** The fetch the `openai` package is given, and the pool behind it. */
export interface UpstreamFetch {
  fetch: typeof globalThis.fetch;
  dispatcher: Dispatcher;
}

const STREAMED = /event-stream/i;
const wholeBodies = new WeakMap<Response, Buffer>();

/**
 * The body of a good (2xx) whole answer fetched by {@link upstreamFetch}, taken once; undefined
 * for any other response (read it with `response.json()`).
 *
 * @example
 * const bytes = wholeBodyOf(response);
 * const value = bytes ? JSON.parse(bytes.toString('utf8')) : await response.json();
 */
export function wholeBodyOf(response: Response): Buffer | undefined {
  const b = wholeBodies.get(response);
  if (b !== undefined) wholeBodies.delete(response);
  return b;
}
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for the `openai` package on undici's `request` over a keep-alive Agent: the same
 * HTTP engine as Node's global fetch, without the WHATWG stream and request machinery on
 * every call (half the CPU per request on the agent-chat bench). Connections to the upstream
 * are pooled and reused (`maxConnections`, `keepAliveMs`). A whole JSON answer is read into
 * one buffer (at most `maxResponseBytes`); an SSE answer is handed over as a stream. Bodies
 * the adapter does not know (form data for uploads) go through the global fetch.
 *
 * @example
 * const up = upstreamFetch({ maxConnections: 256, keepAliveMs: 30_000, idleTimeoutMs: 120_000, maxResponseBytes: 16 << 20 });
 * const client = new OpenAI({ baseURL, apiKey, fetch: up.fetch });
 */
export function upstreamFetch(o: UpstreamPoolOptions): UpstreamFetch {
  const dispatcher = new Agent({
    connections: o.maxConnections,
    keepAliveTimeout: o.keepAliveMs,
    keepAliveMaxTimeout: Math.max(o.keepAliveMs, 600_000),
    // the provider bounds the wait for headers itself (connect or response timeout)
    headersTimeout: 0,
    bodyTimeout: o.idleTimeoutMs,
  });
  const fetchOverUndici = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    if (input instanceof Request || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) {
      return globalThis.fetch(input, init);
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const res = await request(input, {
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: body ?? null,
      signal: init.signal ?? undefined,
      dispatcher,
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) out.append(k, x);
      else if (v !== undefined) out.append(k, v);
    }
    const init2 = { status: res.statusCode, headers: out };
    if (NULL_BODY.has(res.statusCode)) {
      res.body.resume();
      return new Response(null, init2);
    }
    if (STREAMED.test(out.get('content-type') ?? '')) return new Response(Readable.toWeb(res.body) as ReadableStream, init2);
    const whole = await readWhole(res.body, o);
    if (res.statusCode < 200 || res.statusCode > 299) return new Response(whole, init2);
    // A good whole answer skips the Response body machinery (a web stream per answer): the
    // provider takes the bytes with wholeBodyOf and parses them once.
    const response = new Response(null, init2);
    wholeBodies.set(response, whole);
    return response;
  };
  return { fetch: fetchOverUndici as typeof globalThis.fetch, dispatcher };
}

/** A whole body, bounded in size; a stall becomes the coded timeout (the `openai` package would call it a connect timeout). */
async function readWhole(body: Dispatcher.ResponseData['body'], o: UpstreamPoolOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > o.maxResponseBytes) {
        body.destroy();
        throw new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model sent a response body over ${o.maxResponseBytes} bytes`, {
          details: { maxResponseBytes: o.maxResponseBytes },
        });
      }
      parts.push(chunk);
    }
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'UND_ERR_BODY_TIMEOUT') throw e;
    // Worded without "timeout", and without undici's error as the cause: the package reads
    // both and would take the stall for its own connect timeout.
    throw new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model stream stalled: no data for ${o.idleTimeoutMs}ms`, {
      details: { idleTimeoutMs: o.idleTimeoutMs },
    });
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
