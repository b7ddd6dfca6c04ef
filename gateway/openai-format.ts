import type { AgentSummary, RunResult } from '../actors/index.js';
import { a2aTraceToWire, toWireToolCalls, type ModelDelta, type Usage } from '../protocol/index.js';

/**
 * The OpenAI Chat Completions response shapes, built from a run's result and deltas:
 * `chat.completion` objects, `chat.completion.chunk` SSE chunks, and model objects.
 */


/** A non-streaming `chat.completion`. `model` is what the client asked for (the agent's name). */
export function toCompletion(result: RunResult, id: string, model: string, created: number): Record<string, unknown> {
  // an extra field (clients ignore it): the agent-to-agent trace of a run that delegated
  const a2a = a2aTraceToWire(result.trace);
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{
      index: 0,
      message: {
        role: 'assistant',
        content: result.content,
        refusal: null,
        annotations: [],
        ...(result.toolCalls.length > 0 ? { tool_calls: toWireToolCalls(result.toolCalls) } : {}),
      },
      logprobs: null,
      finish_reason: result.finishReason,
    }],
    usage: result.usage,
    system_fingerprint: null,
    ...(a2a ? { troupe_a2a: a2a } : {}),
  };
}

/**
 * {@link toCompletion} as JSON text: `JSON.stringify(toCompletion(...))`, with the common
 * completion (text or null content, no tool calls, no A2A trace) written by hand around
 * its three strings. Serializing the completion object cost more instructions than the
 * rest of the route; test/gateway/completion-json.property.test.ts holds the two to the
 * same text.
 *
 * @example
 * reply.header('content-type', JSON_UTF8);
 * return completionJson(result, `chatcmpl-${runId}`, 'assistant', 1700000000);
 */
export function completionJson(result: RunResult, id: string, model: string, created: number): string {
  const { content, usage } = result;
  if (
    result.toolCalls.length > 0 || a2aTraceToWire(result.trace) !== undefined || !Number.isSafeInteger(created)
    || !Number.isSafeInteger(usage.prompt_tokens) || !Number.isSafeInteger(usage.completion_tokens) || !Number.isSafeInteger(usage.total_tokens)
    || !onlyCounts(usage)
  ) {
    return JSON.stringify(toCompletion(result, id, model, created));
  }
  return `{"id":${jsonString(id)},"object":"chat.completion","created":${created},"model":${jsonString(model)},"choices":[{"index":0,"message":{"role":"assistant","content":${content === null ? 'null' : jsonString(content)},"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":${jsonString(result.finishReason)}}],"usage":{"prompt_tokens":${usage.prompt_tokens},"completion_tokens":${usage.completion_tokens},"total_tokens":${usage.total_tokens}},"system_fingerprint":null}`;
}

/** A usage object with no field beside the three counts (as runs make it). */
function onlyCounts(usage: object): boolean {
  let n = 0;
  for (const _ in usage) n++;
  return n === 3;
}

/**
 * `JSON.stringify(s)` for a string: quoted as it is when it holds only printable ASCII with
 * no quote or backslash (ids, model names, most answers), else JSON.stringify's own escaping.
 */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/** The content type of {@link completionJson}'s text (fastify sends a string with it as it is). */
export const JSON_UTF8 = 'application/json; charset=utf-8';

/** Builds the chunks of one streamed completion, all sharing id, created and model. */
export class ChunkWriter {
  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
    /** With `stream_options.include_usage`, every chunk carries `usage: null` until the last. */
    private readonly includeUsage: boolean,
  ) {}

  private chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
    return JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(this.includeUsage ? { usage: null } : {}),
    });
  }

  /** The first chunk: the role (and an empty content, as OpenAI sends). */
  role(): string {
    return this.chunk({ role: 'assistant', content: '', refusal: null });
  }

  delta(d: ModelDelta): string {
    if (d.type === 'content') return this.chunk({ content: d.text });
    // The first delta of a call carries id, type and name; later ones only argument pieces.
    const head = d.id !== undefined || d.name !== undefined;
    return this.chunk({
      tool_calls: [{
        index: d.index,
        ...(d.id !== undefined ? { id: d.id } : {}),
        ...(head ? { type: 'function' } : {}),
        function: { ...(d.name !== undefined ? { name: d.name } : {}), arguments: d.argumentsDelta },
      }],
    });
  }

  /** The one chunk with the finish reason (and an empty delta). */
  finish(reason: string): string {
    return this.chunk({}, reason);
  }

  /** The usage chunk (`choices: []`) sent before `[DONE]` when asked for. */
  usage(u: Usage): string {
    return JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, system_fingerprint: null, choices: [], usage: u });
  }
}

/**
 * An agent as an OpenAI model object. `owned_by` says where its answers come from:
 * `troupe-offline` for the built-in deterministic model, `troupe` for a real upstream.
 */
export function toModel(a: AgentSummary): Record<string, unknown> {
  return {
    id: a.name,
    object: 'model',
    created: Math.floor(a.createdAt / 1000),
    owned_by: a.provider.offline ? 'troupe-offline' : 'troupe',
    description: a.description,
    troupe: { upstream_model: a.model, provider: a.provider.name, offline: a.provider.offline, node: a.node, status: a.status, tools: a.tools },
  };
}
