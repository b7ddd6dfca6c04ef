import { z } from 'zod';

/**
 * The request bodies of the A2A 0.3 REST binding as they arrive: ProtoJSON of the 0.3
 * `a2a.proto` (a message's `content` parts `{ text } | { file } | { data: { data } }`,
 * `ROLE_USER`), which is what the official 0.3 clients send and the SDK's 0.3 REST router
 * decodes. Checked before the SDK's decoders, which coerce what they are given (a numeric
 * message id becomes a string, a part with nothing in it fails inside the translation as an
 * internal error), and bounded. Unknown fields stay allowed, snake_case twins included.
 */

const id = z.string().max(256);
const meta = z.record(z.string(), z.unknown());

/** A part holds exactly one of text, file, data. */
const part = z.object({
  text: z.string().optional(),
  file: z.object({
    fileWithUri: z.string().min(1).max(8_192).optional(),
    fileWithBytes: z.string().optional(),
    mimeType: z.string().max(256).optional(),
  }).loose().refine((f) => (f.fileWithUri === undefined) !== (f.fileWithBytes === undefined), 'a file holds exactly one of fileWithUri, fileWithBytes').optional(),
  data: z.object({ data: meta }).loose().optional(),
  metadata: meta.optional(),
}).loose().refine((p) => ['text', 'file', 'data'].filter((k) => p[k as keyof typeof p] !== undefined).length === 1, 'a part holds exactly one of text, file, data');

const message = z.object({
  messageId: id.min(1),
  contextId: id.optional(),
  taskId: id.optional(),
  role: z.enum(['ROLE_USER', 'ROLE_AGENT']),
  content: z.array(part).min(1).max(256),
  extensions: z.array(z.string().max(1_024)).max(64).optional(),
  metadata: meta.optional(),
}).loose();

const auth = z.object({ schemes: z.array(z.string().max(64)).max(16).optional(), credentials: z.string().max(8_192).optional() }).loose();
const pushNotificationConfig = z.object({
  id: id.optional(),
  url: z.string().min(1).max(2_048),
  token: z.string().max(4_096).optional(),
  authentication: auth.optional(),
}).loose();

const configuration = z.object({
  acceptedOutputModes: z.array(z.string().max(256)).max(64).optional(),
  pushNotification: pushNotificationConfig.optional(),
  historyLength: z.number().int().min(0).max(1_000_000).optional(),
  blocking: z.boolean().optional(),
}).loose();

/** `POST /v1/message:send` and `/v1/message:stream`. */
export const legacySendSchema = z.object({ message, configuration: configuration.optional(), metadata: meta.optional() }).loose();

/** `POST /v1/tasks/{id}/pushNotificationConfigs` (`name` is `tasks/{id}` or `tasks/{id}/pushNotificationConfigs/{configId}`). */
export const legacyPushConfigSchema = z.object({ name: z.string().max(1_024).optional(), pushNotificationConfig }).loose();

/** The first problem of a body, as a short message (`message.content.0: ...`). */
export function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `invalid params: ${where}: ${issue.message}`.slice(0, 300);
}
