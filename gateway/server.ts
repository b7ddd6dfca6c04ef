import type { Server } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, flat, isLoopbackHost, newId } from '../protocol/index.js';
import { sendError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { clientErrorHandler } from './client-errors.js';
import { logRequest } from './request-log.js';

/** A caller's `x-request-id` is kept when it looks like this. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Certificate and key (PEM) for https; absent means plain http. */
export const gatewayTlsSchema = z.strictObject({
  cert: z.string().min(1, 'tls.cert: a PEM certificate (chain)'),
  key: z.string().min(1, 'tls.key: a PEM private key'),
});

/** Gateway options: validated once, defaults documented in the README. */
export const gatewayOptionsSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8787),
  apiKeys: z.array(z.string().min(8, 'API keys must be at least 8 characters')).default([]),
  insecure: z.boolean().default(false),
  bodyLimitBytes: z.number().int().positive().max(64 * 1024 * 1024).default(1024 * 1024),
  rateLimitPerMinute: z.number().int().positive().max(1_000_000).default(600),
  /** Failed authentications a client address may make per `authFailureWindowMs`; past it, 429. */
  authFailureLimit: z.number().int().positive().max(1_000_000).default(20),
  authFailureWindowMs: z.number().int().positive().max(86_400_000).default(60_000),
  requestTimeoutMs: z.number().int().positive().max(3_600_000).default(300_000),
  drainTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
  /** Unsent SSE output (bytes) past which a slow client's run is cancelled and its stream ended. */
  sseMaxBufferedBytes: z.number().int().positive().max(256 * 1024 * 1024).default(1024 * 1024),
  /**
   * Let `POST /api/v1/agents` give an agent its own upstream (`provider.baseURL`, `apiKey`,
   * `headers`). Off by default: it lets any API-key holder point the node at any URL and
   * store keys in plain text.
   */
  allowAgentProviders: z.boolean().default(false),
  /** Serve https with this certificate and key (PEM strings); see the README's TLS section. */
  tls: gatewayTlsSchema.optional(),
  /** One info line per request (method, route, status, duration, request id, key id, agent). */
  logRequests: z.boolean().default(true),
});
export type GatewayOptionsInput = z.input<typeof gatewayOptionsSchema>;
export type GatewayOptions = z.output<typeof gatewayOptionsSchema>;


/** Phase of the node as the gateway reports it on /ready. */
export type Readiness = 'starting' | 'ready' | 'draining';

/**
 * A child logger made on first use. fastify gives every request a pino child (bindings
 * serialized, an object per request); with request logging off, most requests never log.
 */
class LazyChildLogger {
  #real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  #log(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent', args: unknown[]): void {
    const real = (this.#real ??= this.parent.child(this.bindings, this.opts));
    (real[level] as (...a: unknown[]) => void).apply(real, args);
  }

  get level(): string {
    return this.#real?.level ?? this.parent.level;
  }

  set level(level: string) {
    (this.#real ??= this.parent.child(this.bindings, this.opts)).level = level;
  }

  fatal(...args: unknown[]): void { this.#log('fatal', args); }
  error(...args: unknown[]): void { this.#log('error', args); }
  warn(...args: unknown[]): void { this.#log('warn', args); }
  info(...args: unknown[]): void { this.#log('info', args); }
  debug(...args: unknown[]): void { this.#log('debug', args); }
  trace(...args: unknown[]): void { this.#log('trace', args); }
  silent(...args: unknown[]): void { this.#log('silent', args); }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return (this.#real ??= this.parent.child(this.bindings, this.opts)).child(bindings, options);
  }
}

/**
 * The fastify app with the cross-cutting parts every route shares: request ids, the error
 * envelope, body limits, readiness. Route modules register on top.
 */
export function createServer(options: GatewayOptions, logger: Logger, nodeId: string): { app: FastifyInstance; readiness: { state: Readiness }; scheme: 'http' | 'https' } {
  if (!isLoopbackHost(options.host) && options.apiKeys.length === 0 && !options.insecure) {
    throw new TroupeError('TROUPE_ERR_GATEWAY_INSECURE_BIND', `refusing to bind ${options.host} with no API keys; set TROUPE_API_KEYS or pass --insecure`);
  }
  const gatewayLogger = logger.child({ component: 'gateway' });
  // https (Node's https server) has the same request and reply types as http for routes;
  // the cast keeps fastify's typings on the http/1.1 overload
  const https = options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {};
  const fastifyOptions: FastifyHttpOptions<Server, FastifyBaseLogger> = {
    loggerInstance: gatewayLogger as FastifyBaseLogger,
    // per-request lines would drown the node's own logs; metrics count requests instead
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      // ours: unique per process start (random prefix) and cheap (a counter), unlike a UUID
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : flat('req_', newId());
    },
    // a request's logger (with its reqId) is made when something logs, not for every request
    childLoggerFactory: (parent, bindings, opts) => new LazyChildLogger(parent, bindings, opts) as unknown as FastifyBaseLogger,
    forceCloseConnections: true,
    // malformed requests Node or fastify refuse before routing still get a request id and
    // the route's envelope
    clientErrorHandler: clientErrorHandler(gatewayLogger),
    frameworkErrors: (err, req, reply) => {
      reply.header('x-request-id', req.id);
      return sendError(reply, new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', err.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid: bad percent-encoding in the path' : err.message, {
        cause: err, details: { param: null },
      }));
    },
  };
  const app = Fastify(Object.assign(fastifyOptions, https));
  // JSON bodies are depth-bounded and prototype keys refused before any route sees them
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  // the A2A media type (A2A spec 11.1) is JSON, parsed the same way
  app.addContentTypeParser('application/a2a+json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  const readiness = { state: 'starting' as Readiness };
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // While starting or draining, only /health and /ready answer.
    if (readiness.state === 'ready' || req.url === '/health' || req.url === '/ready') return;
    reply.header('connection', 'close');
    throw new TroupeError('TROUPE_ERR_GATEWAY_NOT_READY', `node ${nodeId} is ${readiness.state}`);
  });
  if (options.logRequests) app.addHook('onResponse', async (req, reply) => logRequest(gatewayLogger, req, reply));
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) => sendError(reply, new TroupeError('TROUPE_ERR_GATEWAY_NOT_FOUND', `no route ${req.method} ${req.url}`)));
  app.get('/health', async () => ({ status: 'ok', node: nodeId }));
  app.get('/ready', async (_req, reply) => {
    if (readiness.state !== 'ready') return reply.code(503).send({ status: readiness.state, node: nodeId });
    return { status: 'ready', node: nodeId };
  });
  return { app, readiness, scheme: options.tls ? 'https' : 'http' };
}
