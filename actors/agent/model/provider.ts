import type { ChatMessage, ModelDelta, ModelResult, ResponseFormat, ToolChoice, ToolSpec } from '../../../protocol/index.js';

/**
 * One call to a model: the conversation so far and the knobs OpenAI-compatible APIs share.
 *
 * @example
 * const req: ModelRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
 */
export interface ModelRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ReadonlyArray<ToolSpec>;
  toolChoice?: ToolChoice;
  temperature?: number;
  maxTokens?: number;
  stop?: string | string[];
  seed?: number;
  responseFormat?: ResponseFormat;
}

/**
 * The part of an AbortSignal a model call and a retry wait use, so a real AbortSignal fits
 * and so does a {@link RunAbort}, which makes its AbortSignal only when one is asked for.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A run's cancellation. Node's AbortController is costly to make (microseconds, and garbage
 * the GC keeps a while), and most runs never need one: the offline model only asks whether
 * the run was aborted. `signal` makes a real AbortSignal on demand (an upstream HTTP
 * request, a tool), aborted already if the run was.
 *
 * @example
 * const abort = new RunAbort();
 * abort.addEventListener('abort', () => stop());
 * abort.abort('cancelled by the requester'); // stop() runs; abort.aborted === true
 */
export class RunAbort implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | undefined;
  #controller: AbortController | undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    // as with AbortSignal, one listener's throw neither stops the others nor reaches the aborter
    for (const l of listeners ?? []) {
      try {
        l();
      } catch {
        // nothing to report to: the abort goes on
      }
    }
    this.#controller?.abort(reason);
  }

  /** Every listener runs once, at the abort (or never); adding one twice adds it once. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    const ls = (this.#listeners ??= []);
    if (!ls.includes(listener)) ls.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.#listeners!.splice(i, 1);
  }

  /** A real AbortSignal that follows this one. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }
}

/** Per-call options: cancellation, streaming callback, overall time limit. */
export interface CompleteOptions {
  /** Aborting it cancels the call (TROUPE_ERR_AGENT_CANCELLED) and the upstream request. */
  signal?: CancelSignal;
  /** Called once per streamed piece, in order, before `complete` resolves. */
  onDelta?: (delta: ModelDelta) => void;
  /** Overall limit for this call, retries included (TROUPE_ERR_MODEL_TIMEOUT). */
  timeoutMs?: number;
  /**
   * Told of every 429 as it arrives, with the wait it asks for, whether the provider then
   * retries or gives up: the agent pauses its other calls until then.
   */
  onRateLimited?: (retryAfterMs: number) => void;
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
