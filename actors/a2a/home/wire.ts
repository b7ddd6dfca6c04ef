import {
  CancelTaskRequest, DeleteTaskPushNotificationConfigRequest, GetTaskPushNotificationConfigRequest, GetTaskRequest, ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse, ListTasksRequest, ListTasksResponse, Message, SendMessageRequest, StreamResponse, SubscribeToTaskRequest, Task,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import {
  ContentTypeNotSupportedError, ExtendedAgentCardNotConfiguredError, ExtensionSupportRequiredError, InvalidAgentResponseError,
  PushNotificationNotSupportedError, RequestMalformedError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError, VersionNotSupportedError,
} from '@a2a-js/sdk/errors';
import { ServerCallContext, UnauthenticatedUser, type User } from '@a2a-js/sdk/server';
import { z } from 'zod';
import { TroupeError, errorCatalog, parseAddress, type ErrorCode } from '../../../protocol/index.js';

/**
 * What crosses the peer link between the node that took an A2A request and the node of the
 * task's agent (its home): the SDK request handler's calls, by method, with their params and
 * results in the SDK's version-stable JSON (`X.toJSON` / `X.fromJSON`), the caller's scope,
 * and errors by their SDK class name (so the receiving node maps them to the same JSON-RPC
 * code) or their troupe code.
 */

/** Name of the home actor on every node (`/system/a2a-tasks`). */
export const HOME_NAME = 'a2a-tasks';
export const HOME_PATH = `system/${HOME_NAME}`;
/** Name of the actor that takes the streamed events back on the node that took the request. */
export const STREAMS_NAME = 'a2a-streams';
export const STREAMS_PATH = `system/${STREAMS_NAME}`;

/** The longest a call's outcome is kept on its home for the repeats of its asker (a blocking send's deadline, and a minute). */
export const MAX_RETRY_FOR_MS = 16 * 60_000;

/** The unary methods of the SDK's `A2ARequestHandler` that are forwarded. */
export const UNARY_METHODS = [
  'sendMessage', 'getTask', 'cancelTask', 'listTasks', 'createTaskPushNotificationConfig', 'getTaskPushNotificationConfig',
  'listTaskPushNotificationConfigs', 'deleteTaskPushNotificationConfig',
] as const;
export type UnaryMethod = (typeof UNARY_METHODS)[number];
/** The unary methods that only read: a repeat of one is run again (no call id, nothing remembered). */
export const READ_METHODS: ReadonlySet<UnaryMethod> = new Set(['getTask', 'listTasks', 'getTaskPushNotificationConfig', 'listTaskPushNotificationConfigs']);
/** The streaming ones. */
export const STREAM_METHODS = ['sendMessageStream', 'resubscribe'] as const;
export type StreamMethod = (typeof STREAM_METHODS)[number];

type Codec = { toJSON(v: any): unknown; fromJSON(v: any): any };
/** Params codec per method. */
export const PARAMS: Record<UnaryMethod | StreamMethod, Codec> = {
  sendMessage: SendMessageRequest,
  sendMessageStream: SendMessageRequest,
  resubscribe: SubscribeToTaskRequest,
  getTask: GetTaskRequest,
  cancelTask: CancelTaskRequest,
  listTasks: ListTasksRequest,
  createTaskPushNotificationConfig: TaskPushNotificationConfig,
  getTaskPushNotificationConfig: GetTaskPushNotificationConfigRequest,
  listTaskPushNotificationConfigs: ListTaskPushNotificationConfigsRequest,
  deleteTaskPushNotificationConfig: DeleteTaskPushNotificationConfigRequest,
};

const sendResult: Codec = {
  toJSON: (v: Message | Task) => ('status' in v ? { task: Task.toJSON(v) } : { message: Message.toJSON(v) }),
  fromJSON: (v: { task?: unknown; message?: unknown }) => (v.task !== undefined ? Task.fromJSON(v.task) : Message.fromJSON(v.message)),
};
const none: Codec = { toJSON: () => null, fromJSON: () => undefined };
/** Result codec per unary method. */
export const RESULTS: Record<UnaryMethod, Codec> = {
  sendMessage: sendResult,
  getTask: Task,
  cancelTask: Task,
  listTasks: ListTasksResponse,
  createTaskPushNotificationConfig: TaskPushNotificationConfig,
  getTaskPushNotificationConfig: TaskPushNotificationConfig,
  listTaskPushNotificationConfigs: ListTaskPushNotificationConfigsResponse,
  deleteTaskPushNotificationConfig: none,
};
export const EVENT: Codec = StreamResponse;

/** The caller as the node that took the request saw it: its user (task scope), tenant, version, extensions. */
export const callerSchema = z.object({
  user: z.object({ name: z.string().max(256), authenticated: z.boolean() }),
  tenant: z.string().max(256).optional(),
  version: z.string().max(32).optional(),
  extensions: z.array(z.string().max(512)).max(32).optional(),
});
export type Caller = z.infer<typeof callerSchema>;

/** An error as it crosses: the SDK's class name, or a troupe code, and a message. */
export const wireErrorSchema = z.object({ name: z.string().max(128), message: z.string().max(4_000), code: z.string().max(128).optional() });
export type WireError = z.infer<typeof wireErrorSchema>;

const params = z.record(z.string(), z.unknown());
const agent = z.string().min(1).max(256);
const streamId = z.string().min(1).max(128);
const callId = z.string().min(1).max(128);
/** How long the asking node may still retry a call (ms): its repeats are answered from memory until then. */
const retryForMs = z.number().int().min(0).max(MAX_RETRY_FOR_MS).optional();
/** Where a stream's events go: a node's streams actor, never any other actor a peer names. */
const replyTo = z.string().min(1).max(512).refine((a) => parseAddress(a)?.path === STREAMS_PATH, `the streams actor of a node (troupe://<node>/${STREAMS_PATH})`);

/** What the home actor takes. */
export const homeMessageSchema = z.discriminatedUnion('type', [
  /**
   * A unary call, answered with a {@link CallReply}. `callId` (the calls that change something:
   * send, cancel, push config create and delete) names the call across its retries: the home
   * runs it once and answers every repeat that arrives within `retryForMs` with its outcome.
   */
  z.object({ type: z.literal('a2a.home.call'), agent, method: z.enum(UNARY_METHODS), params, caller: callerSchema, callId: callId.optional(), retryForMs }),
  /** A streaming call: answered `{ ok }` when started (a repeat of `streamId` is answered the same, not started twice); its events are told to `replyTo`. */
  z.object({ type: z.literal('a2a.home.stream'), agent, method: z.enum(STREAM_METHODS), params, caller: callerSchema, streamId, replyTo, retryForMs }),
]);
export type HomeMessage = z.infer<typeof homeMessageSchema>;

/** What the streams actor takes: one event of a stream (numbered), or its end. */
export const streamMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('a2a.home.event'), streamId, seq: z.number().int().min(0), event: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('a2a.home.end'), streamId, seq: z.number().int().min(0), error: wireErrorSchema.optional() }),
]);
export type StreamMessage = z.infer<typeof streamMessageSchema>;

/** The answer to a call or to a stream's start. */
export const callReplySchema = z.union([z.object({ ok: z.literal(true), result: z.unknown() }), z.object({ ok: z.literal(false), error: wireErrorSchema })]);
export type CallReply = z.infer<typeof callReplySchema>;

/** The caller of a request handler's call, for the wire. */
export function callerOf(ctx: ServerCallContext): Caller {
  const user = ctx.user;
  const out: Caller = { user: { name: (user?.userName ?? '').slice(0, 256), authenticated: user?.isAuthenticated === true } };
  if (ctx.tenant) out.tenant = ctx.tenant;
  if (ctx.requestedVersion) out.version = ctx.requestedVersion;
  const ext = ctx.requestedExtensions ? [...(ctx.requestedExtensions as Iterable<string>)].slice(0, 32) : [];
  if (ext.length > 0) out.extensions = ext;
  // the client's own values over the link's bounds are its bad request (invalid params), not an unreachable node
  const checked = callerSchema.safeParse(out);
  if (!checked.success) {
    const where = checked.error.issues[0]?.path[0];
    throw new RequestMalformedError(`the request's ${where === 'extensions' ? 'extensions (32 of 512 characters at most)' : where === 'version' ? 'A2A version (32 characters at most)' : 'tenant (256 characters at most)'} is over its bound`);
  }
  return out;
}

/** The call context on the home node: the same scope (user and tenant), so the same tasks are found. */
export function contextOf(c: Caller): ServerCallContext {
  const name = c.user.name;
  const user: User = c.user.authenticated ? { isAuthenticated: true, userName: name } : new UnauthenticatedUser();
  return new ServerCallContext({
    user,
    ...(c.tenant ? { tenant: c.tenant } : {}),
    ...(c.version ? { requestedVersion: c.version } : {}),
    ...(c.extensions ? { requestedExtensions: c.extensions as never } : {}),
  });
}

const SDK_ERRORS: Record<string, new (m?: string) => Error> = {
  ContentTypeNotSupportedError, ExtendedAgentCardNotConfiguredError, ExtensionSupportRequiredError, InvalidAgentResponseError,
  PushNotificationNotSupportedError, RequestMalformedError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError, VersionNotSupportedError,
};

/** An error for the wire (never a stack or a cause). */
export function toWireError(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const out: WireError = { name: err.name.slice(0, 128), message: err.message.slice(0, 4_000) };
  if (e instanceof TroupeError) out.code = e.code;
  return out;
}

/** The error back: the SDK's own class (same JSON-RPC code on either node), a TroupeError, or a plain Error. */
export function fromWireError(w: WireError): Error {
  const Sdk = Object.hasOwn(SDK_ERRORS, w.name) ? SDK_ERRORS[w.name] : undefined;
  if (Sdk) return new Sdk(w.message);
  if (w.code && Object.hasOwn(errorCatalog, w.code)) return new TroupeError(w.code as ErrorCode, w.message);
  return new Error(w.message);
}
