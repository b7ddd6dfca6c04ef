import OpenAI from 'openai';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeIssues, systemClock, TroupeError, type Clock } from '../../../protocol/index.js';
import { toWireMessages, toWireToolChoice, toWireTools, upstreamChunkSchema, upstreamCompletionSchema, type ModelDelta, type ModelResult, type Usage } from '../../../protocol/index.js';
import { StreamAccumulator } from './accumulator.js';
import { completionResult } from './completion.js';
import { classifyFailure, type Failure, type Why } from './failure.js';
import type { CancelSignal, CompleteOptions, ModelProvider, ModelRequest } from './provider.js';
import { backoffDelay, clockSleep, type Sleep } from './retry.js';
import { estimatePromptTokens, estimateTokens } from './tokens.js';
import { upstreamFetch, wholeBodyOf } from './upstream-fetch.js';

const ms = (def: number) => z.number().int().positive().max(24 * 60 * 60 * 1000).default(def);

/**
 * Options of the OpenAI-compatible provider: validated once, defaulted, then frozen.
 * Every wait has a finite default.
 */
export const openAIProviderOptionsSchema = z.object({
  /** Any OpenAI-compatible base URL, ending in `/v1` for most servers. */
  baseURL: z.url().default('https://api.openai.com/v1'),
  /** Sent as a bearer token; local servers often need none. */
  apiKey: z.string().optional(),
  /** Model used when a request names none. */
  defaultModel: z.string().min(1).default('gpt-4o-mini'),
  /** Limit for the response headers of a streamed call to arrive (they come before the first token). */
  connectTimeoutMs: ms(60_000),
  /**
   * Limit for the response headers of a call nobody streams: the upstream sends them once
   * the whole answer is ready, so this bounds the model's generation time.
   */
  responseTimeoutMs: ms(300_000),
  /** Limit between two stream chunks, or for the body after the headers: a stalled answer fails instead of hanging. */
  idleTimeoutMs: ms(120_000),
  /** Limit for a whole call, retries and their waits included (per-call `timeoutMs` overrides). */
  timeoutMs: ms(600_000),
  /** Retries after 429, 5xx, 408 or a dropped connection, never after output was streamed. */
  maxRetries: z.number().int().min(0).max(20).default(3),
  /** A 429 asking for a longer wait than this fails at once with TROUPE_ERR_MODEL_RATE_LIMITED. */
  maxRetryAfterMs: ms(60_000),
  backoffBaseMs: ms(500),
  backoffMaxMs: ms(8_000),
  /**
   * Which field carries `maxTokens`: OpenAI wants `max_completion_tokens`, many compatible
   * servers only know `max_tokens`. `auto` picks by host.
   */
  maxTokensField: z.enum(['auto', 'max_tokens', 'max_completion_tokens']).default('auto'),
  /** Most sockets open to the upstream at once (a keep-alive pool per provider); more requests wait for one. */
  maxConnections: z.number().int().positive().max(65_536).default(256),
  /** How long an idle socket to the upstream stays open for the next call. */
  keepAliveMs: ms(30_000),
  /** Largest whole (non-streamed) answer taken from the upstream. */
  maxResponseBytes: z.number().int().positive().max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
  /** Extra headers on every request. */
  headers: z.record(z.string(), z.string()).optional(),
});

export type OpenAIProviderOptions = z.input<typeof openAIProviderOptionsSchema>;

/** Injected collaborators: tests pass a fast sleep or a manual clock. */
export interface OpenAIProviderDeps {
  logger?: Logger;
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
}

type Emit = (d: ModelDelta) => void;

/** Raised inside an attempt when our own controller aborted (the library hides these). */
class Aborted extends Error {}

/** Wraps an exception thrown by the caller's onDelta so it is rethrown untouched. */
class CallbackError extends Error {
  constructor(readonly original: unknown) {
    super('onDelta threw');
  }
}

/** Adapt pino to the `openai` package's console-like logger. */
function packageLogger(logger: Logger | undefined): NonNullable<ConstructorParameters<typeof OpenAI>[0]>['logger'] {
  const at = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, ...rest: unknown[]): void => {
    logger?.[level]({ source: 'openai-package', ...(rest.length > 0 ? { detail: rest } : {}) }, message);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/**
 * A model behind any OpenAI-compatible Chat Completions endpoint, through the official
 * `openai` package. A call with an `onDelta` listener streams (`stream_options.include_usage`),
 * so deltas reach the caller as they arrive and a stalled stream is detected; a call without
 * one asks for the whole answer as one JSON body (no SSE framing, one parse). Connections to
 * the upstream are kept alive and pooled (see upstreamFetch). The package's own retries
 * are off: this class retries with its own budget and honours `retry-after`.
 *
 * @example
 * const provider = new OpenAIProvider({ baseURL: 'http://127.0.0.1:11434/v1', defaultModel: 'llama3.2' }, { logger });
 * const result = await provider.complete(
 *   { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] },
 *   { signal, onDelta: (d) => d.type === 'content' && write(d.text) },
 * );
 */
export class OpenAIProvider implements ModelProvider {
  readonly name = 'openai';
  readonly offline = false;
  readonly defaultModel: string;
  readonly baseURL: string;
  private readonly options: Readonly<z.output<typeof openAIProviderOptionsSchema>>;
  private readonly client: OpenAI;
  private readonly logger: Logger | undefined;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';

  constructor(options: OpenAIProviderOptions = {}, deps: OpenAIProviderDeps = {}) {
    const parsed = openAIProviderOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid OpenAI provider options: ${z.prettifyError(parsed.error)}`, {
        cause: parsed.error,
      });
    }
    this.options = Object.freeze(parsed.data);
    this.defaultModel = this.options.defaultModel;
    this.baseURL = this.options.baseURL;
    this.logger = deps.logger?.child({ provider: this.name });
    this.clock = deps.clock ?? systemClock;
    this.sleep = deps.sleep ?? clockSleep(this.clock);
    this.random = deps.random ?? Math.random;
    const field = this.options.maxTokensField;
    this.maxTokensField =
      field !== 'auto' ? field : new URL(this.baseURL).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens';
    this.client = new OpenAI({
      baseURL: this.baseURL,
      // Never fall back to the environment: the caller decides (and logs) where keys come from.
      apiKey: this.options.apiKey ?? 'not-needed',
      maxRetries: 0,
      timeout: this.options.connectTimeoutMs,
      fetch: upstreamFetch({
        maxConnections: this.options.maxConnections,
        keepAliveMs: this.options.keepAliveMs,
        idleTimeoutMs: this.options.idleTimeoutMs,
        maxResponseBytes: this.options.maxResponseBytes,
      }).fetch,
      // The package logs to console by default; route it to pino (or nowhere).
      logger: packageLogger(this.logger),
      logLevel: this.logger ? 'warn' : 'off',
      ...(this.options.headers ? { defaultHeaders: this.options.headers } : {}),
    });
  }

  /** One completion, streamed when the caller listens to deltas; see ModelProvider. */
  async complete(req: ModelRequest, opts: CompleteOptions = {}): Promise<ModelResult> {
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const deadline = this.clock.now() + timeoutMs;
    // Once a delta reached the caller, a retry would stream the answer twice. Without a
    // caller listening nothing is shown, so a dropped stream can always be retried.
    let emitted = false;
    const onDelta = opts.onDelta;
    // A call nobody streams asks for the whole answer at once: no SSE framing, no per-chunk
    // parse and check, no deltas made only to be dropped.
    const body = this.buildBody(req, onDelta !== undefined);
    const emit: Emit | undefined = onDelta
      ? (d: ModelDelta): void => {
          emitted = true;
          try {
            onDelta(d);
          } catch (e) {
            throw new CallbackError(e);
          }
        }
      : undefined;

    for (let attempt = 0; ; attempt++) {
      let failure: Failure;
      try {
        return await this.attempt(req, body, opts.signal, deadline, timeoutMs, emit);
      } catch (e) {
        if (e instanceof CallbackError) throw e.original;
        failure = e as Failure;
      }
      const { error } = failure;
      const wait = failure.retryAfterMs ?? backoffDelay(attempt, this.options.backoffBaseMs, this.options.backoffMaxMs, this.random);
      const attempts = attempt + 1;
      if (error.code === 'TROUPE_ERR_MODEL_RATE_LIMITED') opts.onRateLimited?.(wait);
      const giveUp =
        !failure.retryable
        || emitted
        || attempt >= this.options.maxRetries
        || wait > this.options.maxRetryAfterMs
        || this.clock.now() + wait >= deadline;
      if (giveUp) {
        if (error.code === 'TROUPE_ERR_MODEL_RATE_LIMITED') {
          throw new TroupeError(error.code, `upstream model rate-limited the request after ${attempts} attempt(s); retry after ${wait}ms`, {
            cause: error.cause,
            details: { ...error.details, retryAfterMs: wait, attempts },
          });
        }
        if (failure.retryable && attempts > 1) {
          throw new TroupeError(error.code, `${error.message} (after ${attempts} attempts)`, {
            cause: error.cause,
            details: { ...error.details, attempts },
          });
        }
        throw error;
      }
      this.logger?.warn({ code: error.code, status: error.details?.['status'], attempt: attempts, waitMs: wait }, 'model call failed, retrying');
      try {
        await this.sleep(wait, opts.signal);
      } catch (cause) {
        throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled while waiting to retry', { cause });
      }
    }
  }

  private buildBody(req: ModelRequest, streamed: boolean): OpenAI.ChatCompletionCreateParams & { model: string } {
    const hasTools = req.tools !== undefined && req.tools.length > 0;
    const body: Record<string, unknown> = {
      model: req.model || this.defaultModel,
      messages: toWireMessages(req.messages),
    };
    if (streamed) {
      body['stream'] = true;
      body['stream_options'] = { include_usage: true };
    }
    if (hasTools) body['tools'] = toWireTools(req.tools ?? []);
    if (hasTools && req.toolChoice !== undefined) body['tool_choice'] = toWireToolChoice(req.toolChoice);
    if (req.temperature !== undefined) body['temperature'] = req.temperature;
    if (req.maxTokens !== undefined) body[this.maxTokensField] = req.maxTokens;
    if (req.stop !== undefined) body['stop'] = req.stop;
    if (req.seed !== undefined) body['seed'] = req.seed;
    if (req.responseFormat !== undefined) body['response_format'] = req.responseFormat;
    return body as unknown as OpenAI.ChatCompletionCreateParams & { model: string };
  }

  /** One HTTP request. Resolves with the result or rejects with a Failure (or a CallbackError). */
  private async attempt(
    req: ModelRequest,
    body: OpenAI.ChatCompletionCreateParams,
    signal: CancelSignal | undefined,
    deadline: number,
    timeoutMs: number,
    emit: Emit | undefined,
  ): Promise<ModelResult> {
    const { clock } = this;
    const idleMs = this.options.idleTimeoutMs;
    const headersLimit = emit ? 'connectTimeoutMs' : 'responseTimeoutMs';
    const headersTimeoutMs = this.options[headersLimit];
    const failed = (e: unknown, why: Why | undefined): Failure =>
      classifyFailure(e, why, { signal, timeoutMs, idleTimeoutMs: idleMs, headersTimeoutMs, headersLimit, now: clock.now(), logger: this.logger });
    if (signal?.aborted) throw failed(signal.reason, 'cancel');
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw failed(undefined, 'deadline');

    const ctl = new AbortController();
    let why: Why | undefined;
    const stop = (reason: Why): void => {
      if (why !== undefined) return;
      why = reason;
      ctl.abort();
    };
    const onCallerAbort = (): void => stop('cancel');
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const deadlineTimer = clock.setTimeout(() => stop('deadline'), remaining);
    // One timer for the whole answer, not one per chunk: data only stamps the time, and the
    // timer, when it fires, either finds the upstream quiet for idleMs or waits the rest.
    let lastData = 0;
    let idleTimer: unknown;
    const idleCheck = (): void => {
      const quiet = clock.now() - lastData;
      if (quiet >= idleMs) stop('idle');
      else idleTimer = clock.setTimeout(idleCheck, idleMs - quiet);
    };
    const startIdle = (): void => {
      lastData = clock.now();
      idleTimer = clock.setTimeout(idleCheck, idleMs);
    };

    let done = false;
    let close: (() => void) | undefined;
    try {
      const options = { signal: ctl.signal, timeout: Math.min(headersTimeoutMs, remaining) };
      let result: ModelResult;
      if (emit) {
        const stream = await this.client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsStreaming, options);
        close = () => stream.controller.abort();
        startIdle();
        const acc = new StreamAccumulator(body.model);
        // One JSON parse per chunk (the package's), then one check of what troupe reads.
        // An abort ends the iteration quietly: `why` tells.
        for await (const raw of stream as AsyncIterable<unknown>) {
          lastData = clock.now();
          const chunk = upstreamChunkSchema.safeParse(raw);
          if (!chunk.success) throw new Error(`malformed chunk from the upstream: ${describeIssues(chunk.error)}`);
          acc.push(chunk.data, emit);
        }
        if (why !== undefined) throw new Aborted();
        result = acc.result((text) => this.estimate(req, text));
      } else {
        // Nothing needs the deltas: one request, one JSON body, one parse.
        const response = await this.client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming, options).asResponse();
        startIdle();
        const bytes = wholeBodyOf(response);
        const parsed = upstreamCompletionSchema.safeParse(bytes ? JSON.parse(bytes.toString('utf8')) : await response.json());
        if (why !== undefined) throw new Aborted();
        if (!parsed.success) throw new Error(`malformed completion from the upstream: ${describeIssues(parsed.error)}`);
        result = completionResult(parsed.data, body.model, (text) => this.estimate(req, text));
      }
      done = true;
      this.logger?.debug({ model: result.model, finishReason: result.finishReason, usage: result.usage }, 'model call finished');
      return result;
    } catch (e) {
      if (e instanceof CallbackError) throw e;
      throw failed(e, why);
    } finally {
      signal?.removeEventListener('abort', onCallerAbort);
      clock.clearTimeout(deadlineTimer);
      if (idleTimer !== undefined) clock.clearTimeout(idleTimer);
      if (!done) {
        // Really close the upstream request: the server must see the connection go.
        ctl.abort();
        close?.();
      }
    }
  }

  /** Usage when the server sent none; the estimate walks the whole conversation. */
  private estimate(req: ModelRequest, completionText: string): Usage {
    const promptTokens = estimatePromptTokens(req.messages, req.tools);
    const completion = estimateTokens(completionText);
    return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  }
}
