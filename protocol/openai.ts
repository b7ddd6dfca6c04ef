import { z } from 'zod';

/**
 * The OpenAI Chat Completions wire format (what `POST /v1/chat/completions` accepts; the
 * internal model-call contract is model-contract.ts, the conversions openai-convert.ts).
 * Objects are loose: a field we do not know is kept and ignored, never a 400, so
 * newer clients keep working.
 */

// ---------------------------------------------------------------------------------------
// Wire format: content parts
// ---------------------------------------------------------------------------------------

/** `{ type: 'text', text }` */
export const textPartSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

/** `{ type: 'image_url', image_url: { url, detail? } }` (url may be a `data:` URL). */
export const imagePartSchema = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
});

/** `{ type: 'input_audio', input_audio: { data (base64), format } }` */
export const audioPartSchema = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string().min(1).max(32) }),
});

/** `{ type: 'file', file: { file_data?, file_id?, filename? } }` */
export const filePartSchema = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});

/** `{ type: 'refusal', refusal }` (assistant messages only). */
export const refusalPartSchema = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

/** A content part of a user message. */
export const userContentPartSchema = z.discriminatedUnion('type', [textPartSchema, imagePartSchema, audioPartSchema, filePartSchema]);

export type TextPart = z.infer<typeof textPartSchema>;
export type UserContentPart = z.infer<typeof userContentPartSchema>;

// ---------------------------------------------------------------------------------------
// Wire format: messages
// ---------------------------------------------------------------------------------------

const textContent = z.union([z.string(), z.array(textPartSchema)]);

/** A tool call an assistant message made: `{ id, type: 'function', function: { name, arguments } }`. */
export const wireToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

export const systemMessageSchema = z.looseObject({ role: z.literal('system'), content: textContent, name: z.string().optional() });
export const developerMessageSchema = z.looseObject({ role: z.literal('developer'), content: textContent, name: z.string().optional() });
export const userMessageSchema = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(userContentPartSchema)]),
  name: z.string().optional(),
});
export const assistantMessageSchema = z.looseObject({
  role: z.literal('assistant'),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textPartSchema, refusalPartSchema]))]).nullish(),
  name: z.string().optional(),
  refusal: z.string().nullish(),
  tool_calls: z.array(wireToolCallSchema).optional(),
});
export const toolMessageSchema = z.looseObject({ role: z.literal('tool'), content: textContent, tool_call_id: z.string() });

/** One message of a chat completion request, by `role`. */
export const wireMessageSchema = z.discriminatedUnion('role', [
  systemMessageSchema,
  developerMessageSchema,
  userMessageSchema,
  assistantMessageSchema,
  toolMessageSchema,
]);

export type WireMessage = z.infer<typeof wireMessageSchema>;

const PLAIN_TEXT_ROLES: ReadonlySet<unknown> = new Set(['system', 'developer', 'user', 'assistant']);

/**
 * The common message, checked without a schema walk: a plain object `{ role: system |
 * developer | user | assistant, content: string, name?: string }` and nothing else. Every
 * such message is valid for wireMessageSchema and for the agents' chat message schema; the
 * fast checks of the chat request (gateway/chat-request.ts) and of `agent.run`
 * (actors/agent/run-message.ts) take it, and hand anything else to their zod schema.
 *
 * @example
 * isPlainTextMessage({ role: 'user', content: 'hi' }); // true
 * isPlainTextMessage({ role: 'tool', content: 'x', tool_call_id: 'c1' }); // false: the schema decides
 */
export function isPlainTextMessage(m: unknown): m is { role: 'system' | 'developer' | 'user' | 'assistant'; content: string; name?: string } {
  if (typeof m !== 'object' || m === null || Object.getPrototypeOf(m) !== Object.prototype) return false;
  const o = m as Record<string, unknown>;
  let keys = 0;
  for (const k in o) {
    if (k !== 'role' && k !== 'content' && k !== 'name') return false;
    keys++;
  }
  if (!PLAIN_TEXT_ROLES.has(o.role) || typeof o.content !== 'string') return false;
  return keys === 2 || typeof o.name === 'string';
}
export type WireToolCall = z.infer<typeof wireToolCallSchema>;

// ---------------------------------------------------------------------------------------
// Wire format: tools, tool choice, response format
// ---------------------------------------------------------------------------------------

/** OpenAI's rule for function names. */
export const TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

/** `{ type: 'function', function: { name, description?, parameters? (JSON schema), strict? } }` */
export const wireToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(TOOL_NAME_RE, 'must match ^[a-zA-Z0-9_-]{1,64}$'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

export const wireToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

/** `{ type: 'text' | 'json_object' }` or `{ type: 'json_schema', json_schema: { name, schema?, strict? } }`. */
export const responseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string().regex(TOOL_NAME_RE, 'must match ^[a-zA-Z0-9_-]{1,64}$'),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export type WireTool = z.infer<typeof wireToolSchema>;
export type WireToolChoice = z.infer<typeof wireToolChoiceSchema>;
export type ResponseFormat = z.infer<typeof responseFormatSchema>;

// ---------------------------------------------------------------------------------------
// Wire format: the request
// ---------------------------------------------------------------------------------------

const int = () => z.number().int();

/**
 * The body of `POST /v1/chat/completions`. Optional fields accept `null` as OpenAI does;
 * unknown fields pass through untouched.
 *
 * @example
 * const r = chatCompletionRequestSchema.safeParse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
 * if (!r.success) reply400(zodErrorToOpenAIParam(r.error));
 */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(wireMessageSchema).min(1).max(10_000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: int().min(1).nullish(),
  max_completion_tokens: int().min(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: int().min(1).max(128).nullish(),
  seed: int().nullish(),
  tools: z.array(wireToolSchema).max(128).optional(),
  tool_choice: wireToolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: responseFormatSchema.optional(),
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullish(),
  store: z.boolean().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: int().min(0).max(20).nullish(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullish(),
  service_tier: z.string().nullish(),
  verbosity: z.enum(['low', 'medium', 'high']).nullish(),
  modalities: z.array(z.enum(['text', 'audio'])).nullish(),
  prompt_cache_key: z.string().optional(),
  safety_identifier: z.string().optional(),
});

/** A validated chat completion request body. */
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/**
 * Turn a zod error into the `{ message, param }` of an OpenAI 400 error, where `param` is
 * the path of the first offending field (`messages[0].role`), or null for the whole body.
 * Union failures point at the branch that got furthest, so a bad nested field is named
 * rather than the union that contains it.
 *
 * @example
 * const r = chatCompletionRequestSchema.safeParse(body);
 * if (!r.success) {
 *   const { message, param } = zodErrorToOpenAIParam(r.error);
 *   reply.code(400).send({ error: { message, type: 'invalid_request_error', param, code: null } });
 * }
 */
export function zodErrorToOpenAIParam(error: z.ZodError): { message: string; param: string | null } {
  const first = error.issues[0];
  if (!first) return { message: 'Invalid request body', param: null };
  const { issue, path } = deepestIssue(first, first.path);
  const param = path.length === 0 ? null : formatParamPath(path);
  const where = param === null ? 'the request body' : `'${param}'`;
  return { message: `Invalid value for ${where}: ${describeIssue(issue)}`, param };
}

/** `['messages', 0, 'content', 1, 'text']` -> `messages[0].content[1].text` */
export function formatParamPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

type Issue = z.core.$ZodIssue;

function deepestIssue(issue: Issue, path: ReadonlyArray<PropertyKey>): { issue: Issue; path: PropertyKey[] } {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return { issue, path: [...path] };
  let best: { issue: Issue; path: PropertyKey[] } | undefined;
  for (const branch of issue.errors) {
    const b = branch[0];
    if (!b) continue;
    const cand = deepestIssue(b, [...path, ...b.path]);
    if (!best || cand.path.length > best.path.length) best = cand;
  }
  // No branch got past the union itself: report the union, naming what it would take.
  if (!best || best.path.length === path.length) return { issue, path: [...path] };
  return best;
}

function describeIssue(issue: Issue): string {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const expected = [...new Set(issue.errors.flatMap((b) => (b[0]?.code === 'invalid_type' ? [b[0].expected] : [])))];
    if (expected.length > 0) return `expected one of ${expected.join(', ')}`;
  }
  return issue.message;
}
