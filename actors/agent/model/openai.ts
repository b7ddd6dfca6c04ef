import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeIssues, systemClock, TroupeError, type Clock } from '../../../protocol/index.js';
import { toWireMessages, toWireToolChoice, toWireTools, upstreamChunkSchema, type ModelResult } from '../../../protocol/index.js';
import { StreamAccumulator, type ChunkLike } from './accumulator.js';
import type { CancelSignal, CompleteOptions, ModelProvider, ModelRequest } from './provider.js';
import { backoffDelay, clockSleep, parseRetryAfter, type Sleep } from './retry.js';
import { estimatePromptTokens, estimateTokens } from './tokens.js';

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
  /** Limit for the response headers to arrive. */
  connectTimeoutMs: ms(60_000),
  /** Limit between two stream chunks: a stalled stream fails instead of hanging. */
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

type Why = 'cancel' | 'idle' | 'deadline';

/** What went wrong in one attempt, and whether another attempt may help. */
interface Failure {
  error: TroupeError;
  retryable: boolean;
  retryAfterMs?: number;
}

/** Raised inside an attempt when our own controller aborted (the library hides these). */
class Aborted extends Error {}

/** Wraps an exception thrown by the caller's onDelta so it is rethrown untouched. */
class CallbackError extends Error {
  constructor(readonly original: unknown) {
    super('onDelta threw');
  }
}

const noop = (): void => {};

/** Adapt pino to the `openai` package's console-like logger. */
function packageLogger(logger: Logger | undefined): NonNullable<ConstructorParameters<typeof OpenAI>[0]>['logger'] {
  const at = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, ...rest: unknown[]): void => {
    logger?.[level]({ source: 'openai-package', ...(rest.length > 0 ? { detail: rest } : {}) }, message);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/**
 * A model behind any OpenAI-compatible Chat Completions endpoint, through the official
 * `openai` package. Always streams (`stream_options.include_usage`), so deltas reach the
 * caller as they arrive and a stalled stream is detected. The package's own retries are
 * off: this class retries with its own budget and honours `retry-after`.
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
      // The package logs to console by default; route it to pino (or nowhere).
      logger: packageLogger(this.logger),
      logLevel: this.logger ? 'warn' : 'off',
      ...(this.options.headers ? { defaultHeaders: this.options.headers } : {}),
    });
  }

  /** Stream one completion; see ModelProvider. */
  async complete(req: ModelRequest, opts: CompleteOptions = {}): Promise<ModelResult> {
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const deadline = this.clock.now() + timeoutMs;
    const body = this.buildBody(req);
    // Once a delta reached the caller, a retry would stream the answer twice. Without a
    // caller listening nothing is shown, so a dropped stream can always be retried.
    let emitted = false;
    const onDelta = opts.onDelta;
    const emit = onDelta
      ? (d: Parameters<typeof onDelta>[0]): void => {
          emitted = true;
          try {
            onDelta(d);
          } catch (e) {
            throw new CallbackError(e);
          }
        }
      : noop;

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

  private buildBody(req: ModelRequest): OpenAI.ChatCompletionCreateParamsStreaming {
    const hasTools = req.tools !== undefined && req.tools.length > 0;
    const body: Record<string, unknown> = {
      model: req.model || this.defaultModel,
      messages: toWireMessages(req.messages),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (hasTools) body['tools'] = toWireTools(req.tools ?? []);
    if (hasTools && req.toolChoice !== undefined) body['tool_choice'] = toWireToolChoice(req.toolChoice);
    if (req.temperature !== undefined) body['temperature'] = req.temperature;
    if (req.maxTokens !== undefined) body[this.maxTokensField] = req.maxTokens;
    if (req.stop !== undefined) body['stop'] = req.stop;
    if (req.seed !== undefined) body['seed'] = req.seed;
    if (req.responseFormat !== undefined) body['response_format'] = req.responseFormat;
    return body as unknown as OpenAI.ChatCompletionCreateParamsStreaming;
  }

  /** One HTTP request. Resolves with the result or rejects with a Failure (or a CallbackError). */
  private async attempt(
    req: ModelRequest,
    body: OpenAI.ChatCompletionCreateParamsStreaming,
    signal: CancelSignal | undefined,
    deadline: number,
    timeoutMs: number,
    emit: (d: Parameters<NonNullable<CompleteOptions['onDelta']>>[0]) => void,
  ): Promise<ModelResult> {
    const { clock } = this;
    const ctl = new AbortController();
    let why: Why | undefined;
    const stop = (reason: Why): void => {
      if (why !== undefined) return;
      why = reason;
      ctl.abort();
    };
    if (signal?.aborted) throw this.classify(signal.reason, 'cancel', signal, timeoutMs);
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw this.classify(undefined, 'deadline', signal, timeoutMs);

    const onCallerAbort = (): void => stop('cancel');
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    const deadlineTimer = clock.setTimeout(() => stop('deadline'), remaining);
    let idleTimer: unknown;
    const armIdle = (): void => {
      if (idleTimer !== undefined) clock.clearTimeout(idleTimer);
      idleTimer = clock.setTimeout(() => stop('idle'), this.options.idleTimeoutMs);
    };
    const aborted = new Promise<never>((_, reject) => {
      ctl.signal.addEventListener('abort', () => reject(new Aborted()), { once: true });
    });
    aborted.catch(noop);

    let stream: (AsyncIterable<ChunkLike> & { controller: AbortController }) | undefined;
    let done = false;
    try {
      const created = this.client.chat.completions.create(body, {
        signal: ctl.signal,
        timeout: Math.min(this.options.connectTimeoutMs, remaining),
      });
      created.catch(noop);
      stream = await Promise.race([created, aborted]);
      armIdle();
      const it = stream[Symbol.asyncIterator]();
      const acc = new StreamAccumulator(body.model);
      for (;;) {
        const next = it.next();
        next.catch(noop);
        const r = await Promise.race([next, aborted]);
        if (r.done) break;
        armIdle();
        const chunk = upstreamChunkSchema.safeParse(r.value);
        if (!chunk.success) throw new Error(`malformed chunk from the upstream: ${describeIssues(chunk.error)}`);
        acc.push(chunk.data, emit);
      }
      // The package ends the iteration quietly when its request is aborted.
      if (why !== undefined) throw new Aborted();
      done = true;
      // only needed when the server sent no usage: the estimate walks the whole conversation
      const result = acc.result((text) => {
        const promptTokens = estimatePromptTokens(req.messages, req.tools);
        const completion = estimateTokens(text);
        return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
      });
      this.logger?.debug({ model: result.model, finishReason: result.finishReason, usage: result.usage }, 'model call finished');
      return result;
    } catch (e) {
      if (e instanceof CallbackError) throw e;
      throw this.classify(e, why, signal, timeoutMs);
    } finally {
      signal?.removeEventListener('abort', onCallerAbort);
      clock.clearTimeout(deadlineTimer);
      if (idleTimer !== undefined) clock.clearTimeout(idleTimer);
      if (!done) {
        // Really close the upstream request: the server must see the connection go.
        ctl.abort();
        stream?.controller.abort();
      }
    }
  }

  private classify(e: unknown, why: Why | undefined, signal: CancelSignal | undefined, timeoutMs: number): Failure {
    const o = this.options;
    if (why === 'cancel' || (e instanceof APIUserAbortError && signal?.aborted)) {
      return { error: new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'model call cancelled', { cause: signal?.reason ?? e }), retryable: false };
    }
    if (why === 'idle') {
      return {
        error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model stream stalled: no data for ${o.idleTimeoutMs}ms`, {
          cause: e,
          details: { idleTimeoutMs: o.idleTimeoutMs },
        }),
        retryable: false,
      };
    }
    if (why === 'deadline') {
      return {
        error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model call exceeded ${timeoutMs}ms`, { cause: e, details: { timeoutMs } }),
        retryable: false,
      };
    }
    if (e instanceof APIConnectionTimeoutError) {
      return {
        error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model sent no response within ${o.connectTimeoutMs}ms`, {
          cause: e,
          details: { connectTimeoutMs: o.connectTimeoutMs },
        }),
        retryable: false,
      };
    }
    if (e instanceof APIConnectionError) {
      return { error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `cannot reach upstream model: ${e.message}`, { cause: e }), retryable: true };
    }
    if (e instanceof APIError) {
      const status = e.status;
      const details: Record<string, unknown> = {
        ...(status !== undefined ? { status } : {}),
        ...(e.code ? { upstreamCode: e.code } : {}),
        ...(e.type ? { upstreamType: e.type } : {}),
        ...(e.param ? { param: e.param } : {}),
        ...(e.requestID ? { requestId: e.requestID } : {}),
      };
      const retryAfterMs = parseRetryAfter(e.headers, this.clock.now());
      const withWait = retryAfterMs !== undefined ? { retryAfterMs } : {};
      if (status === 429) {
        return {
          error: new TroupeError('TROUPE_ERR_MODEL_RATE_LIMITED', `upstream model rate-limited the request: ${e.message}`, { cause: e, details }),
          retryable: true,
          ...withWait,
        };
      }
      if (status === 408) {
        return { error: new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `upstream model timed out: ${e.message}`, { cause: e, details }), retryable: true, ...withWait };
      }
      if (status === 401 || status === 403) {
        // Our own credentials were refused: nothing the caller can fix, and the upstream's
        // message may quote part of the key, so it goes to the logs only.
        this.logger?.error({ status, upstreamMessage: e.message, ...details }, 'upstream model refused the credentials');
        return {
          error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model refused troupe's credentials (HTTP ${status}); see the node's logs`, { details: { status } }),
          retryable: false,
        };
      }
      if (status === undefined || status >= 500) {
        return { error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model failed: ${e.message}`, { cause: e, details }), retryable: true, ...withWait };
      }
      return { error: new TroupeError('TROUPE_ERR_MODEL_BAD_REQUEST', `upstream model rejected the request: ${e.message}`, { cause: e, details }), retryable: false };
    }
    // A connection dropped mid-stream, a malformed chunk: transient as far as we can tell.
    const message = e instanceof Error ? e.message : String(e);
    return { error: new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', `upstream model stream failed: ${message}`, { cause: e }), retryable: true };
  }
}
