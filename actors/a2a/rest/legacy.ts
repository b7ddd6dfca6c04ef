import express from 'express';
import { UnauthenticatedUser, defaultServerCallContextBuilder, type A2ARequestHandler, type User } from '@a2a-js/sdk/server';
import { legacyRestRouter } from '@a2a-js/sdk/compat/v0_3/server/express';
import type { Logger } from 'pino';
import type { A2AEndpoint } from '../routes.js';
import { requestedVersionOf } from '../version.js';
import { LEGACY_CODE, isLegacyErrorBody, legacyError, legacyStatusOf, withLegacyErrors, type LegacyErrorBody } from './legacy-errors.js';
import { firstProblem, legacyPushConfigSchema, legacySendSchema } from './legacy-params.js';

/** The raw request as the SDK's express router gets it: the body fastify parsed, and the caller. */
interface HandedRequest {
  body?: unknown;
  troupeUser?: User;
}

const JSON_TYPES = /^application\/(a2a\+)?json\s*(;|$)/i;
const SEND_PATH = /^\/v1\/message:(send|stream)$/;
const PUSH_CREATE_PATH = /^\/v1\/tasks\/([^/]+)\/pushNotificationConfigs$/;
const TASK_NAME = /^tasks\/([^/]+)(?:\/|$)/;

/**
 * Whether a request asks for A2A 0.3 (no `A2A-Version`, or 0.3 with any patch), as on the JSON-RPC route.
 *
 * @example
 * asksForLegacy({}); // true
 * asksForLegacy({ 'a2a-version': '1.0' }); // false
 */
export function asksForLegacy(headers: Record<string, unknown>): boolean {
  return (requestedVersionOf(headers) ?? '0.3') === '0.3';
}

/** Answers the spec's HTTP status for the SDK router's error bodies (see {@link legacyStatusOf}). */
const specStatuses: express.RequestHandler = (_req, res, next) => {
  const json = res.json.bind(res);
  res.json = ((body: unknown) => {
    if (res.statusCode >= 400 && isLegacyErrorBody(body)) res.status(legacyStatusOf(body, res.statusCode));
    return json(body);
  }) as typeof res.json;
  next();
};

/**
 * The A2A 0.3 REST (HTTP+JSON) binding, for every agent, on the official SDK: its express
 * `legacyRestRouter` (the 0.3 routes, `LegacyRestTransportHandler` and the ProtoJSON codec of
 * the 0.3 `a2a.proto`, which the SDK does not export on their own) over the agent's request
 * handler, one small express app per handler, handed the request fastify has authenticated
 * and parsed. troupe adds what the router lacks: bounded, checked bodies (zod), the spec's
 * HTTP statuses (404, 409, 415, 502) and troupe's coded errors, a 404 for a path it does not
 * serve, and the task id of the path as the one a push config is for.
 *
 * @example
 * const legacy = new LegacyRestBinding(log);
 * await legacy.serve(req, reply, endpoint, user); // POST /a2a/echo/v1/message:send without A2A-Version
 */
export class LegacyRestBinding {
  private readonly apps = new WeakMap<A2ARequestHandler, express.Express>();

  constructor(private readonly log: Logger) {}

  /** Refuse before the endpoint is looked up: a body that is not JSON. */
  refusal(headers: Record<string, unknown>): { status: number; body: LegacyErrorBody } | undefined {
    const ct = headers['content-type'];
    if (typeof ct !== 'string' || ct.trim() === '' || JSON_TYPES.test(ct.trim())) return undefined;
    return { status: 415, body: legacyError(LEGACY_CODE.CONTENT_TYPE_NOT_SUPPORTED, `content type ${ct.slice(0, 64)} is not supported: send application/json`) };
  }

  /** An answer of troupe's own in the 0.3 shape (`application/json`, `{ code, message, data? }`). */
  static send(reply: any, status: number, body: LegacyErrorBody): unknown {
    return reply.code(status).header('content-type', 'application/json').send(body);
  }

  /** Serve one 0.3 REST request of an agent (`req.raw.url` under `/a2a/:agent`). */
  async serve(req: any, reply: any, ep: A2AEndpoint | undefined, user: User): Promise<unknown> {
    const refused = this.refusal(req.headers);
    if (refused) return LegacyRestBinding.send(reply, refused.status, refused.body);
    if (!ep) return LegacyRestBinding.send(reply, 404, legacyError(LEGACY_CODE.TASK_NOT_FOUND, `no agent named ${String(req.params.agent).slice(0, 64)}`));
    const url = String(req.raw.url ?? '');
    const sub = url.slice(url.indexOf('/', '/a2a/'.length));
    const path = sub.split('?')[0]!;
    let body: unknown = req.body;
    if (req.method === 'POST' && SEND_PATH.test(path)) {
      const parsed = legacySendSchema.safeParse(body ?? {});
      if (!parsed.success) return LegacyRestBinding.send(reply, 400, legacyError(LEGACY_CODE.INVALID_PARAMS, firstProblem(parsed.error)));
    } else if (req.method === 'POST' && PUSH_CREATE_PATH.test(path)) {
      const parsed = legacyPushConfigSchema.safeParse(body ?? {});
      if (!parsed.success) return LegacyRestBinding.send(reply, 400, legacyError(LEGACY_CODE.INVALID_PARAMS, firstProblem(parsed.error)));
      // the task is the path's; a body naming another one is refused, not obeyed
      const taskId = decodeSegment(PUSH_CREATE_PATH.exec(path)![1]!);
      if (taskId === undefined) return LegacyRestBinding.send(reply, 400, legacyError(LEGACY_CODE.INVALID_PARAMS, 'the task id is not valid percent-encoding'));
      const named = parsed.data.name === undefined ? undefined : TASK_NAME.exec(parsed.data.name)?.[1];
      if (parsed.data.name !== undefined && named !== taskId) {
        return LegacyRestBinding.send(reply, 400, legacyError(LEGACY_CODE.INVALID_PARAMS, 'invalid params: name must be tasks/{id} of the task in the path'));
      }
      body = { ...(body as Record<string, unknown>), name: parsed.data.name ?? `tasks/${taskId}` };
    }
    reply.hijack();
    reply.raw.setHeader('x-request-id', req.id);
    const raw = req.raw as HandedRequest & { url: string };
    raw.body = body;
    raw.troupeUser = user;
    raw.url = sub;
    this.appFor(ep.handler)(req.raw, reply.raw);
    return reply;
  }

  private appFor(handler: A2ARequestHandler): express.Express {
    const known = this.apps.get(handler);
    if (known) return known;
    const app = express();
    app.disable('x-powered-by');
    app.use(specStatuses);
    app.use(legacyRestRouter({
      requestHandler: withLegacyErrors(handler),
      userBuilder: async (req) => (req as unknown as HandedRequest).troupeUser ?? new UnauthenticatedUser(),
      // `0.3.2` is 0.3: patch versions are not negotiated (the card lists 0.3)
      contextBuilder: (o) => defaultServerCallContextBuilder({ ...o, requestedVersion: requestedVersionOf(o.headers) ?? '0.3' }),
    }));
    app.use((req, res) => {
      res.status(404).json(legacyError(LEGACY_CODE.METHOD_NOT_FOUND, `no A2A 0.3 REST operation ${req.method} ${req.path.slice(0, 200)}`));
    });
    app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      this.log.warn({ err, path: req.path.slice(0, 200) }, 'A2A 0.3 REST request failed outside the SDK router');
      if (res.headersSent) return void res.end();
      res.status(500).json(legacyError(LEGACY_CODE.INTERNAL_ERROR, 'internal error'));
    });
    this.apps.set(handler, app);
    return app;
  }
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
