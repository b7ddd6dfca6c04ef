import { chatCompletionRequestSchema, isPlainTextMessage, type ChatCompletionRequest } from '../protocol/index.js';

/** The most messages a request may hold (as chatCompletionRequestSchema). */
const MAX_MESSAGES = 10_000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** `null`, absent, or a number in [min, max] (an integer when `int`), as the schema's `.nullish()` fields. */
function numberOk(v: unknown, min: number, max: number, int: boolean): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== 'number' || !(v >= min && v <= max)) return false;
  return !int || Number.isSafeInteger(v);
}

/**
 * The common chat completion request checked exactly as chatCompletionRequestSchema checks
 * it, without its schema walk (which cost more than the rest of the route): a plain object
 * with `model`, `messages` of `{ role: system | developer | user | assistant, content:
 * string, name? }`, and at most `stream`, `temperature`, `max_tokens`,
 * `max_completion_tokens`, `user` beside them. A request of that shape is returned as it is
 * (the schema's output holds the same fields); anything else, valid or not, is undefined and
 * goes to the schema, which names what is wrong. test/gateway/chat-request.property.test.ts
 * holds the two to the same answers.
 *
 * @example
 * fastChatRequest({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }); // the same object
 * fastChatRequest({ model: 'echo', messages: [], tools: [] }); // undefined: the schema decides
 */
export function fastChatRequest(body: unknown): ChatCompletionRequest | undefined {
  if (!isPlainObject(body)) return undefined;
  for (const k in body) {
    switch (k) {
      case 'model': case 'messages': case 'stream': case 'temperature': case 'max_tokens': case 'max_completion_tokens': case 'user':
        continue;
      default:
        return undefined;
    }
  }
  const model = body.model;
  if (typeof model !== 'string' || model.length < 1 || model.length > 256) return undefined;
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > MAX_MESSAGES) return undefined;
  for (let i = 0; i < messages.length; i++) if (!isPlainTextMessage(messages[i])) return undefined;
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') return undefined;
  if (body.user !== undefined && typeof body.user !== 'string') return undefined;
  if (!numberOk(body.temperature, 0, 2, false)) return undefined;
  if (!numberOk(body.max_tokens, 1, Number.MAX_SAFE_INTEGER, true)) return undefined;
  if (!numberOk(body.max_completion_tokens, 1, Number.MAX_SAFE_INTEGER, true)) return undefined;
  return body as ChatCompletionRequest;
}

/**
 * A chat completion body, validated: the common shape by {@link fastChatRequest}, anything
 * else by chatCompletionRequestSchema (its error on failure).
 *
 * @example
 * const r = parseChatRequest(req.body);
 * if (!r.success) throw badRequest(zodErrorToOpenAIParam(r.error));
 */
export function parseChatRequest(body: unknown): ReturnType<typeof chatCompletionRequestSchema.safeParse> {
  const fast = fastChatRequest(body);
  if (fast !== undefined) return { success: true, data: fast } as ReturnType<typeof chatCompletionRequestSchema.safeParse>;
  return chatCompletionRequestSchema.safeParse(body);
}
