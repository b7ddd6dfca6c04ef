import type { ModelResult, ToolCall, UpstreamCompletion, Usage } from '../../../protocol/index.js';
import { normalizeFinishReason } from './accumulator.js';

/**
 * The ModelResult of a whole (non-streamed) completion, already held to
 * `upstreamCompletionSchema`: the same result the StreamAccumulator folds from the chunks
 * of the same answer. `estimateUsage` fills in when the server sent no usage.
 *
 * @example
 * const result = completionResult(parsed, 'gpt-4o-mini', (text) => estimate(text));
 */
export function completionResult(c: UpstreamCompletion, requestedModel: string, estimateUsage: (completionText: string) => Usage): ModelResult {
  // n > 1 is not part of the model-call contract: the first choice (index 0) is the answer.
  const choice = c.choices?.find((ch) => (ch.index ?? 0) === 0);
  const message = choice?.message;
  const toolCalls: ToolCall[] = [];
  let toolText = '';
  for (const [index, tc] of (message?.tool_calls ?? []).entries()) {
    const call = { id: tc.id || `call_${index}`, name: tc.function?.name ?? '', arguments: tc.function?.arguments ?? '' };
    toolCalls.push(call);
    toolText += call.name + call.arguments;
  }
  const content = typeof message?.content === 'string' ? message.content : null;
  const u = c.usage;
  const usage: Usage = u
    ? { prompt_tokens: u.prompt_tokens ?? 0, completion_tokens: u.completion_tokens ?? 0, total_tokens: u.total_tokens ?? (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0) }
    : estimateUsage((content ?? '') + toolText);
  return {
    content: content !== null || toolCalls.length === 0 ? content ?? '' : null,
    ...(message?.refusal ? { refusal: message.refusal } : {}),
    toolCalls,
    finishReason: normalizeFinishReason(choice?.finish_reason ?? undefined, toolCalls.length > 0),
    usage,
    model: c.model || requestedModel,
  };
}
