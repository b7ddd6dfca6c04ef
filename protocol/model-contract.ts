import { z } from 'zod';
import { TOOL_NAME_RE, userContentPartSchema } from './openai.js';

/**
 * troupe's internal model-call contract: what an agent hands a model provider and gets back.
 * Journaled and streamed between nodes, so zod schemas too.
 */
// ---------------------------------------------------------------------------------------
// Internal model-call contract (journaled, streamed between nodes: zod schemas too)
// ---------------------------------------------------------------------------------------

/** A tool call as troupe keeps it: `arguments` is the raw JSON string the model produced. */
export const toolCallSchema = z.object({ id: z.string(), name: z.string(), arguments: z.string() });

/**
 * A chat message inside troupe. Close to the wire format, but tool fields are camelCase
 * and system/developer/tool content is plain text.
 */
export const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string(), name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: z.string(), name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(userContentPartSchema)]), name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string().nullable(),
    name: z.string().optional(),
    refusal: z.string().optional(),
    toolCalls: z.array(toolCallSchema).optional(),
  }),
  z.object({ role: z.literal('tool'), content: z.string(), toolCallId: z.string() }),
]);

/** A function tool offered to the model; `parameters` is a JSON schema. */
export const toolSpecSchema = z.object({
  name: z.string().regex(TOOL_NAME_RE),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().optional(),
});

/** `'none' | 'auto' | 'required'`, or force one tool by name. */
export const toolChoiceSchema = z.union([z.enum(['none', 'auto', 'required']), z.object({ name: z.string() })]);

export const usageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

/** One streamed piece of a model's answer. */
export const modelDeltaSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('content'), text: z.string() }),
  z.object({
    type: z.literal('tool_call'),
    index: z.number().int().nonnegative(),
    id: z.string().optional(),
    name: z.string().optional(),
    argumentsDelta: z.string(),
  }),
]);

export const finishReasonSchema = z.enum(['stop', 'length', 'tool_calls', 'content_filter']);

/** Token counts an upstream reports (a chunk's or a whole answer's). */
const upstreamUsageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative().nullish(),
  completion_tokens: z.number().int().nonnegative().nullish(),
  total_tokens: z.number().int().nonnegative().nullish(),
}).nullish();

/** A tool call's function as an upstream sends it (whole, or a streamed piece). */
const upstreamFunctionSchema = z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish();

/**
 * One streamed chunk from an OpenAI-compatible upstream, as far as troupe reads it (other
 * fields pass through): checked on arrival, so what the agents build from it holds.
 */
export const upstreamChunkSchema = z.looseObject({
  model: z.string().nullish(),
  usage: upstreamUsageSchema,
  choices: z.array(z.looseObject({
    index: z.number().int().nonnegative().nullish(),
    delta: z.looseObject({
      content: z.string().nullish(),
      refusal: z.string().nullish(),
      tool_calls: z.array(z.looseObject({
        index: z.number().int().nonnegative().nullish(),
        id: z.string().nullish(),
        function: upstreamFunctionSchema,
      })).nullish(),
    }).nullish(),
    finish_reason: z.string().nullish(),
  })).optional(),
});

/**
 * A whole (non-streamed) chat completion from an OpenAI-compatible upstream, as far as troupe
 * reads it (other fields pass through): checked once on arrival, like each streamed chunk.
 */
export const upstreamCompletionSchema = z.looseObject({
  model: z.string().nullish(),
  usage: upstreamUsageSchema,
  choices: z.array(z.looseObject({
    index: z.number().int().nonnegative().nullish(),
    message: z.looseObject({
      content: z.string().nullish(),
      refusal: z.string().nullish(),
      tool_calls: z.array(z.looseObject({
        id: z.string().nullish(),
        function: upstreamFunctionSchema,
      })).nullish(),
    }).nullish(),
    finish_reason: z.string().nullish(),
  })).optional(),
});

/** A model's complete answer to one request. */
export const modelResultSchema = z.object({
  content: z.string().nullable(),
  refusal: z.string().optional(),
  toolCalls: z.array(toolCallSchema),
  finishReason: finishReasonSchema,
  usage: usageSchema,
  model: z.string(),
});

export type ToolCall = z.infer<typeof toolCallSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ToolSpec = z.infer<typeof toolSpecSchema>;
export type ToolChoice = z.infer<typeof toolChoiceSchema>;
export type Usage = z.infer<typeof usageSchema>;
export type ModelDelta = z.infer<typeof modelDeltaSchema>;
export type FinishReason = z.infer<typeof finishReasonSchema>;
export type ModelResult = z.infer<typeof modelResultSchema>;
export type UpstreamCompletion = z.infer<typeof upstreamCompletionSchema>;
