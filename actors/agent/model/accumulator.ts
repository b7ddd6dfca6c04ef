import type { FinishReason, ModelDelta, ModelResult, ToolCall, Usage } from '../../../protocol/index.js';

/** The part of an OpenAI `chat.completion.chunk` the accumulator reads (loose on purpose). */
export interface ChunkLike {
  model?: string | null;
  usage?: { prompt_tokens?: number | null; completion_tokens?: number | null; total_tokens?: number | null } | null;
  choices?: Array<{
    index?: number | null;
    delta?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ index?: number | null; id?: string | null; function?: { name?: string | null; arguments?: string | null } | null }> | null;
    } | null;
    finish_reason?: string | null;
  }>;
}

/**
 * Folds streamed chunks into one ModelResult, emitting a ModelDelta for every piece that
 * carries text. Tool calls are keyed by their `index`: the id and name come once, the
 * arguments arrive split across many chunks.
 *
 * @example
 * const acc = new StreamAccumulator('gpt-4o-mini');
 * for await (const chunk of stream) acc.push(chunk, onDelta);
 * const result = acc.result(() => estimate());
 */
export class StreamAccumulator {
  private content = '';
  private sawContent = false;
  private refusal = '';
  private readonly calls = new Map<number, ToolCall>();
  private finish: string | undefined;
  private usage: Usage | undefined;
  private model: string;

  constructor(requestedModel: string) {
    this.model = requestedModel;
  }

  /** Take one chunk; `emit` sees each delta it carries, in order. */
  push(chunk: ChunkLike, emit: (d: ModelDelta) => void): void {
    if (chunk.model) this.model = chunk.model;
    if (chunk.usage) {
      const p = chunk.usage.prompt_tokens ?? 0;
      const c = chunk.usage.completion_tokens ?? 0;
      this.usage = { prompt_tokens: p, completion_tokens: c, total_tokens: chunk.usage.total_tokens ?? p + c };
    }
    const choices = chunk.choices;
    if (choices === undefined) return;
    // An indexed loop and no defaults made per chunk: this runs for every token streamed.
    for (let k = 0; k < choices.length; k++) {
      const choice = choices[k]!;
      // n > 1 is not part of the model-call contract; other choices are ignored.
      if ((choice.index ?? 0) !== 0) continue;
      if (choice.finish_reason) this.finish = choice.finish_reason;
      const d = choice.delta;
      if (d == null) continue;
      if (typeof d.content === 'string') {
        this.sawContent = true;
        if (d.content.length > 0) {
          this.content += d.content;
          emit({ type: 'content', text: d.content });
        }
      }
      if (typeof d.refusal === 'string') this.refusal += d.refusal;
      const tcs = d.tool_calls;
      if (tcs == null) continue;
      for (let pos = 0; pos < tcs.length; pos++) {
        const tc = tcs[pos]!;
        const index = tc.index ?? pos;
        let call = this.calls.get(index);
        if (!call) {
          call = { id: '', name: '', arguments: '' };
          this.calls.set(index, call);
        }
        const id = tc.id && !call.id ? tc.id : undefined;
        // Some servers repeat the name on every chunk; the first one wins.
        const name = tc.function?.name && !call.name ? tc.function.name : undefined;
        const args = tc.function?.arguments ?? '';
        if (id) call.id = id;
        if (name) call.name = name;
        call.arguments += args;
        if (id || name || args) {
          emit({ type: 'tool_call', index, ...(id ? { id } : {}), ...(name ? { name } : {}), argumentsDelta: args });
        }
      }
    }
  }

  /** The assembled result; `estimateUsage` fills in when the server sent no usage chunk. */
  result(estimateUsage: (completionText: string) => Usage): ModelResult {
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ id: c.id || `call_${index}`, name: c.name, arguments: c.arguments }));
    const completionText = this.content + toolCalls.map((c) => c.name + c.arguments).join('');
    return {
      content: this.sawContent || toolCalls.length === 0 ? this.content : null,
      ...(this.refusal ? { refusal: this.refusal } : {}),
      toolCalls,
      finishReason: normalizeFinishReason(this.finish, toolCalls.length > 0),
      usage: this.usage ?? estimateUsage(completionText),
      model: this.model,
    };
  }
}

/**
 * Map whatever finish_reason a compatible server sent onto the four troupe knows.
 * Servers that answer tool calls with `stop` (some local runtimes do) get `tool_calls`,
 * so the tool loop still runs.
 */
export function normalizeFinishReason(raw: string | undefined, hasToolCalls: boolean): FinishReason {
  switch (raw) {
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    default:
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}
