import type { ChatMessage, ModelDelta, ModelResult, ResponseFormat, ToolChoice, ToolSpec } from '../../../protocol/openai.js';

/**
 * One call to a model: the conversation so far and the knobs OpenAI-compatible APIs share.
 *
 * @example
 * const req: ModelRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
 */
export interface ModelRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  temperature?: number;
  maxTokens?: number;
  stop?: string | string[];
  seed?: number;
  responseFormat?: ResponseFormat;
}

/** Per-call options: cancellation, streaming callback, overall time limit. */
export interface CompleteOptions {
  /** Aborting it cancels the call (TROUPE_ERR_AGENT_CANCELLED) and the upstream request. */
  signal?: AbortSignal;
  /** Called once per streamed piece, in order, before `complete` resolves. */
  onDelta?: (delta: ModelDelta) => void;
  /** Overall limit for this call, retries included (TROUPE_ERR_MODEL_TIMEOUT). */
  timeoutMs?: number;
}

/**
 * A model behind one small interface: the OpenAI-compatible HTTP provider and the
 * built-in offline model both implement it, and so can a test twin.
 *
 * @example
 * const result = await provider.complete(req, { signal, onDelta: (d) => send(d) });
 */
export interface ModelProvider {
  /** Short name for logs (`openai`, `troupe-offline`). */
  readonly name: string;
  /** True when no network is involved. */
  readonly offline: boolean;
  /** The model used when an agent names none. */
  readonly defaultModel: string;
  complete(req: ModelRequest, opts?: CompleteOptions): Promise<ModelResult>;
}
