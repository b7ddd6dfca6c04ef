import { A2A_CONTENT_TYPE, Extensions, HTTP_EXTENSION_HEADER, SSE_HEADERS, StreamResponse, formatSSEErrorEvent, formatSSEEvent } from '@a2a-js/sdk';
import { ContentTypeNotSupportedError, RequestMalformedError, TaskNotFoundError, toRestErrorBody } from '@a2a-js/sdk/errors';
import { defaultServerCallContextBuilder, validateVersion, type ServerCallContext, type User } from '@a2a-js/sdk/server';
import { TroupeError } from '../../../protocol/index.js';
import type { RouteTable } from '../../modules/index.js';
import type { A2AEndpoint } from '../routes.js';
import { RestOperations, type RestAnswer } from './operations.js';
import { requestedVersionOf } from '../version.js';
import { restStatusOf } from './status.js';
import { checkRequestMediaType } from './media-type.js';
import { checkParams } from '../params.js';
import type { Logger } from 'pino';
import { LEGACY_CODE, legacyError } from './legacy-errors.js';
import { LegacyRestBinding, asksForLegacy } from './legacy.js';

/** What the REST routes need from the a2a module (the same as the JSON-RPC route). */
export interface RestRouteDeps {
  endpoint(agent: string): Promise<A2AEndpoint | undefined>;
  userOf(req: { apiKeyId?: string }): User;
  log: Logger;
}

/** The REST binding's base under an agent. */
export const REST_BASE = '/a2a/:agent/v1';

type Op = (rest: RestOperations, ctx: ServerCallContext, req: any) => Promise<RestAnswer>;

/** A task path segment as sent (`<id>`, `<id>:cancel`, `<id>:subscribe`): its id and verb. */
function taskSegment(req: any): { id: string; verb: string } {
  // the raw segment: an id's own ':' is percent-encoded by clients, the verb's is not
  const path = String(req.raw.url ?? '').split('?')[0]!;
  const raw = path.split('/')[5] ?? '';
  const m = /^(.*):(cancel|subscribe)$/.exec(raw);
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new RequestMalformedError('the task id is not valid percent-encoding');
    }
  };
  return m ? { id: decode(m[1]!), verb: m[2]! } : { id: decode(raw), verb: '' };
}

const ENDPOINT_OPS = new Map<string, Op>([
  ['message:send', (r, ctx, req) => (checkParams('SendMessage', req.body), r.send(req.body, ctx))],
  ['message:stream', (r, ctx, req) => (checkParams('SendStreamingMessage', req.body), r.stream(req.body, ctx))],
]);

/**
 * The REST (HTTP+JSON) bindings of A2A for every agent, under `/a2a/:agent/v1`, picked by the
 * `A2A-Version` header as on the JSON-RPC route: absent or 0.3 is the 0.3 binding (the SDK's
 * 0.3 REST router, see {@link LegacyRestBinding}; its paths are the same, plus `GET /v1/card`),
 * `1.0` is the 1.0 binding. That of A2A 1.0: the paths
 * the SDK's `RestTransport` calls (`message:send`, `message:stream`, `tasks`, `tasks/{id}`,
 * `tasks/{id}:cancel`, `tasks/{id}:subscribe`, `tasks/{id}/pushNotificationConfigs[/{configId}]`,
 * `extendedAgentCard`), on the same request handler, task actors and auth as the JSON-RPC
 * route. Errors are the SDK's REST error bodies (`{ error: { code, status, message, details } }`)
 * with their HTTP status; streams are SSE that keep draining when the client goes away.
 */
export function registerRestRoutes(table: RouteTable, deps: RestRouteDeps): void {
  const errorBody = (e: unknown): { status: number; body: unknown } => {
    const err = e instanceof TroupeError ? new RequestMalformedError({ message: `${e.code}: ${e.message}`, metadata: { code: e.code }, cause: e }) : e;
    const status = restStatusOf(err);
    return { status, body: toRestErrorBody(err, status) };
  };

  const legacy = new LegacyRestBinding(deps.log);
  const serve = (pick: (req: any) => Op | undefined) => async (req: any, reply: any): Promise<unknown> => {
    if (asksForLegacy(req.headers)) {
      return legacy.serve(req, reply, await deps.endpoint(String(req.params.agent)), deps.userOf(req));
    }
    reply.header('content-type', A2A_CONTENT_TYPE);
    let ctx: ServerCallContext | undefined;
    let answer: RestAnswer;
    try {
      const agent: string = req.params.agent;
      checkRequestMediaType(req.headers);
      const op = pick(req);
      if (!op) throw new RequestMalformedError(`no operation ${req.method} ${String(req.raw.url ?? '').split('?')[0]!.slice(0, 200)}`);
      const ep = await deps.endpoint(agent);
      if (!ep) throw new TaskNotFoundError(`no agent named ${agent.slice(0, 64)}`);
      const requestedVersion = requestedVersionOf(req.headers);
      ctx = defaultServerCallContextBuilder({
        user: deps.userOf(req),
        headers: req.headers,
        ...(requestedVersion ? { requestedVersion } : {}),
        extensions: Extensions.parseServiceParameter(req.headers['a2a-extensions'] as string | undefined),
      });
      validateVersion(ctx.requestedVersion, await ep.handler.getAgentCard(), 'HTTP+JSON');
      answer = await op(new RestOperations(ep.handler), ctx, req);
    } catch (e) {
      const { status, body } = errorBody(e);
      return reply.code(status).send(body);
    }
    if (ctx.activatedExtensions && [...ctx.activatedExtensions].length > 0) reply.header(HTTP_EXTENSION_HEADER, [...ctx.activatedExtensions].join(','));
    if (answer.kind === 'json') return reply.code(answer.status).send(answer.body);
    if (answer.kind === 'empty') return reply.code(204).send();
    return stream(req, reply, answer.events, (e) => errorBody(e));
  };

  const task = (get: Record<string, Op>): ((req: any) => Op | undefined) => (req) => get[taskSegment(req).verb];
  const withTask = (f: (r: RestOperations, ctx: ServerCallContext, id: string, req: any) => Promise<RestAnswer>): Op => (r, ctx, req) => f(r, ctx, taskSegment(req).id, req);
  const subscribe = withTask((r, ctx, id) => r.subscribe(id, ctx));

  table.route({ method: 'POST', url: `${REST_BASE}/:op`, errorHandler: bodyErrors(errorBody), handler: serve((req) => ENDPOINT_OPS.get(String(req.params.op))) });
  table.route({ method: 'GET', url: `${REST_BASE}/extendedAgentCard`, handler: serve(() => (r, ctx) => r.extendedCard(ctx)) });
  // 0.3's extended card (1.0 calls it extendedAgentCard): no 1.0 operation
  table.route({ method: 'GET', url: `${REST_BASE}/card`, handler: serve(() => undefined) });
  table.route({ method: 'GET', url: `${REST_BASE}/tasks`, handler: serve(() => (r, ctx, req) => r.list(req.query, ctx)) });
  table.route({ method: 'GET', url: `${REST_BASE}/tasks/:task`, handler: serve(task({ '': withTask((r, ctx, id, req) => r.getTask(id, req.query ?? {}, ctx)), subscribe })) });
  // cancel and subscribe take no body: the SDK client still sends `content-type: application/json`
  const taskPost = serve(task({ cancel: withTask((r, ctx, id) => r.cancel(id, ctx)), subscribe }));
  table.route({ method: 'POST', url: `${REST_BASE}/tasks/:task`, errorHandler: bodyErrors(errorBody, taskPost), handler: taskPost });
  table.route({ method: 'POST', url: `${REST_BASE}/tasks/:task/pushNotificationConfigs`, errorHandler: bodyErrors(errorBody), handler: serve(() => (r, ctx, req) => r.createPushConfig(String(req.params.task), req.body, ctx)) });
  table.route({ method: 'GET', url: `${REST_BASE}/tasks/:task/pushNotificationConfigs`, handler: serve(() => (r, ctx, req) => r.listPushConfigs(String(req.params.task), ctx)) });
  table.route({ method: 'GET', url: `${REST_BASE}/tasks/:task/pushNotificationConfigs/:config`, handler: serve(() => (r, ctx, req) => r.getPushConfig(String(req.params.task), String(req.params.config), ctx)) });
  const deleteConfig = serve(() => (r, ctx, req) => r.deletePushConfig(String(req.params.task), String(req.params.config), ctx));
  table.route({ method: 'DELETE', url: `${REST_BASE}/tasks/:task/pushNotificationConfigs/:config`, errorHandler: bodyErrors(errorBody, deleteConfig), handler: deleteConfig });
}

/** The body parser's refusals (bad JSON, wrong content type) as REST errors; the rest (401, 429, 503) stay the gateway's. */
function bodyErrors(errorBody: (e: unknown) => { status: number; body: unknown }, bodyless?: (req: any, reply: any) => Promise<unknown>) {
  return (err: { code?: string }, req: any, reply: any): unknown => {
    // an operation without a body, sent with a JSON content type and nothing in it: served as it is
    const empty = req.headers['content-length'] === '0' || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined);
    if (bodyless && empty && (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'TROUPE_ERR_GATEWAY_BAD_REQUEST')) {
      req.body = undefined;
      return bodyless(req, reply);
    }
    const old = asksForLegacy(req.headers);
    if (err.code === 'TROUPE_ERR_GATEWAY_BAD_REQUEST' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      if (old) return LegacyRestBinding.send(reply, 400, legacyError(LEGACY_CODE.PARSE_ERROR, 'the body is not valid JSON'));
      const { status, body } = errorBody(new RequestMalformedError('the body is not valid JSON'));
      return reply.code(status).header('content-type', A2A_CONTENT_TYPE).send(body);
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      if (old) return LegacyRestBinding.send(reply, 415, legacyError(LEGACY_CODE.CONTENT_TYPE_NOT_SUPPORTED, 'content type not supported: send application/json'));
      const { status, body } = errorBody(new ContentTypeNotSupportedError('content type not supported: send application/json or application/a2a+json'));
      return reply.code(status).header('content-type', A2A_CONTENT_TYPE).send(body);
    }
    throw err;
  };
}

/** An event stream as SSE (ProtoJSON StreamResponse per event); a failure before the first event is a plain REST error. */
async function stream(req: any, reply: any, events: AsyncGenerator<StreamResponse, void, undefined>, errorBody: (e: unknown) => { status: number; body: unknown }): Promise<unknown> {
  let first: IteratorResult<StreamResponse>;
  try {
    first = await events.next();
  } catch (e) {
    const { status, body } = errorBody(e);
    return reply.code(status).send(body);
  }
  reply.hijack();
  reply.raw.writeHead(200, { ...SSE_HEADERS, 'x-request-id': req.id });
  const live = (): boolean => !reply.raw.destroyed && !reply.raw.writableEnded;
  try {
    if (!first.done && live()) reply.raw.write(formatSSEEvent(StreamResponse.toJSON(first.value)));
    // keep draining after a disconnect: the SDK persists events only in this loop
    for (let r = await events.next(); !r.done; r = await events.next()) if (live()) reply.raw.write(formatSSEEvent(StreamResponse.toJSON(r.value)));
  } catch (e) {
    if (live()) reply.raw.write(formatSSEErrorEvent(errorBody(e).body as never));
  } finally {
    if (live()) reply.raw.end();
  }
  return reply;
}
