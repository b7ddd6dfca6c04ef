import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { z } from 'zod';

/**
 * The A2A 1.0 request parameters as they arrive (ProtoJSON), checked before the SDK decodes
 * them: its decoders coerce what they are given (a numeric task id, a part with both text
 * and data, a text that is a number), so a wrong type would run instead of being refused
 * with -32602 (TCK CORE-ERR-002, DM-PART-001). Unknown fields stay allowed (forward
 * compatibility, DM-SERIAL-005).
 */

const id = z.string().max(256);
const meta = z.record(z.string(), z.unknown());
const count = z.number().int().min(0);

/** A part holds exactly one of text, raw (base64), url, data. */
const part = z.object({
  text: z.string().optional(),
  raw: z.string().optional(),
  url: z.string().min(1).max(8_192).refine((u) => URL.canParse(u), 'part.url must be a URL').optional(),
  data: z.unknown().optional(),
  mediaType: z.string().max(256).optional(),
  filename: z.string().max(1_024).optional(),
  metadata: meta.optional(),
}).loose().refine((p) => ['text', 'raw', 'url', 'data'].filter((k) => k in p).length === 1, 'a part holds exactly one of text, raw, url, data');

const message = z.object({
  messageId: id,
  role: z.string().max(32),
  parts: z.array(part).max(256),
  contextId: id.optional(),
  taskId: id.optional(),
  referenceTaskIds: z.array(id).max(64).optional(),
  extensions: z.array(z.string().max(1_024)).max(64).optional(),
  metadata: meta.optional(),
}).loose();

const configuration = z.object({
  acceptedOutputModes: z.array(z.string().max(256)).max(64).optional(),
  historyLength: count.optional(),
  returnImmediately: z.boolean().optional(),
  taskPushNotificationConfig: meta.optional(),
}).loose();

const send = z.object({ message, configuration: configuration.optional(), metadata: meta.optional(), tenant: id.optional() }).loose();
/** The params of `SendMessage` and `SendStreamingMessage`. */
export const sendParamsSchema: z.ZodType = send;
const byId = z.object({ id, historyLength: count.optional(), metadata: meta.optional(), tenant: id.optional() }).loose();
const list = z.object({
  contextId: id.optional(), status: z.string().max(64).optional(), pageSize: z.number().int().optional(), pageToken: z.string().max(1_024).optional(),
  historyLength: count.optional(), statusTimestampAfter: z.string().max(64).optional(), includeArtifacts: z.boolean().optional(), tenant: id.optional(),
}).loose();
const pushConfig = z.object({ taskId: id, id: id.optional(), url: z.string().max(2_048).optional(), token: z.string().max(4_096).optional(), tenant: id.optional() }).loose();

const SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.freeze({
  SendMessage: send,
  SendStreamingMessage: send,
  GetTask: byId,
  CancelTask: byId,
  SubscribeToTask: byId,
  ListTasks: list,
  CreateTaskPushNotificationConfig: pushConfig,
  GetTaskPushNotificationConfig: pushConfig,
  ListTaskPushNotificationConfigs: pushConfig,
  DeleteTaskPushNotificationConfig: pushConfig,
});

/**
 * Throws RequestMalformedError (-32602; 400 over REST) when the params of a 1.0 method have
 * a wrong type or shape; methods it does not know are left to the SDK.
 *
 * @example
 * checkParams('GetTask', { id: 123 }); // throws: id must be a string
 */
export function checkParams(method: string, params: unknown): void {
  if ((method === 'SendMessage' || method === 'SendStreamingMessage') && isPlainSendParams(params)) return;
  const schema = SCHEMAS[method];
  if (!schema || params === undefined) return;
  const r = schema.safeParse(params);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'params';
  throw new RequestMalformedError(`invalid params: ${where}: ${issue.message}`.slice(0, 300));
}

/** A plain object (as JSON.parse makes them): no inherited field can answer for a missing one. */
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const isId = (v: unknown): boolean => typeof v === 'string' && v.length <= 256;
const PLAIN_SEND_KEYS = new Set(['message', 'tenant']);
const PLAIN_MESSAGE_KEYS = new Set(['messageId', 'role', 'parts', 'contextId', 'taskId']);

/**
 * The common send, checked in place: a message of text parts (with a media type at most),
 * its ids, and nothing else. True only for params {@link sendParamsSchema} takes too (a
 * property test holds it to that); anything else (a configuration, metadata, another part
 * kind, an unknown field) is the schema's to decide.
 *
 * @example
 * isPlainSendParams({ message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } }); // true
 * isPlainSendParams({ message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ data: {} }] } }); // false: the schema decides
 */
export function isPlainSendParams(params: unknown): boolean {
  if (!isPlain(params)) return false;
  for (const k in params) if (!PLAIN_SEND_KEYS.has(k)) return false;
  if (params.tenant !== undefined && !isId(params.tenant)) return false;
  const m = params.message;
  if (!isPlain(m)) return false;
  for (const k in m) if (!PLAIN_MESSAGE_KEYS.has(k)) return false;
  if (!isId(m.messageId) || typeof m.role !== 'string' || m.role.length > 32) return false;
  if ((m.contextId !== undefined && !isId(m.contextId)) || (m.taskId !== undefined && !isId(m.taskId))) return false;
  const parts = m.parts;
  if (!Array.isArray(parts) || parts.length > 256) return false;
  for (let i = 0; i < parts.length; i++) {
    const p: unknown = parts[i];
    if (!isPlain(p)) return false;
    for (const k in p) if (k !== 'text' && k !== 'mediaType') return false;
    if (typeof p.text !== 'string') return false;
    if (p.mediaType !== undefined && !(typeof p.mediaType === 'string' && p.mediaType.length <= 256)) return false;
  }
  return true;
}
