import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AgentCard, StreamResponse } from '@a2a-js/sdk';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError, exponentialDelay } from '../../../protocol/index.js';
import type { ActorRef } from '../../kernel/index.js';
import type { ModuleHost } from '../../modules/index.js';
import {
  EVENT, HOME_PATH, PARAMS, READ_METHODS, RESULTS, STREAMS_NAME, callReplySchema, callerOf, fromWireError, streamMessageSchema,
  type StreamMessage, type StreamMethod, type UnaryMethod, type WireError,
} from './wire.js';

/** Events of one forwarded stream buffered for a reader that lags; past it the stream ends (coded). */
export const DEFAULT_STREAM_BUFFER = 1_024;
/** Bytes (of the events' JSON) one forwarded stream buffers for a reader that lags; past it the stream ends (coded). */
export const DEFAULT_STREAM_BUFFER_BYTES = 16 * 1024 * 1024;
/** Streams followed at once from other nodes. */
const MAX_STREAMS = 10_000;
/** How long a blocking send may take (it runs the agent's whole turn). */
const SEND_TIMEOUT_MS = 15 * 60_000;
/** How long any other call may take (a read, a cancel, a push config). */
const CALL_TIMEOUT_MS = 30_000;
/** How long the home takes to start a stream. */
const START_TIMEOUT_MS = 30_000;
/** Errors of an attempt after which the call is asked again (same call id): the link, not the call, failed. */
const RETRIED = new Set(['TROUPE_ERR_TRANSPORT_NODE_DOWN', 'TROUPE_ERR_ACTOR_ASK_TIMEOUT', 'TROUPE_ERR_TRANSPORT_QUEUE_FULL', 'TROUPE_ERR_ACTOR_MAILBOX_FULL']);
/** Of those, the ones that say the agent's node is unreachable now (they count against `retryWindowMs`). */
const UNREACHABLE = new Set(['TROUPE_ERR_TRANSPORT_NODE_DOWN', 'TROUPE_ERR_TRANSPORT_QUEUE_FULL']);

/** How forwarded calls ride out a peer link that drops (a2a module option `forward`). */
export const forwardOptionsSchema = z.object({
  /** Each attempt's wait for its answer; one not answered by then is asked again with the same call id (a long blocking send is simply waited on again). */
  attemptTimeoutMs: z.number().int().min(10).max(600_000).default(5_000),
  /** How long the agent's node may stay unreachable (down, or its link full) before a call fails with TROUPE_ERR_A2A_HOME_UNREACHABLE. */
  retryWindowMs: z.number().int().min(0).max(600_000).default(10_000),
  /** The first wait between attempts, doubling (with jitter)... */
  backoffMinMs: z.number().int().min(1).max(60_000).default(50),
  /** ...up to this. */
  backoffMaxMs: z.number().int().min(1).max(600_000).default(2_000),
}).strict();
export type ForwardOptions = z.output<typeof forwardOptionsSchema>;

/** What a {@link HomeLink} is made with. */
export interface HomeLinkOptions {
  /** Events buffered per forwarded stream (see {@link DEFAULT_STREAM_BUFFER}). */
  bufferEvents?: number;
  /** Bytes buffered per forwarded stream (see {@link DEFAULT_STREAM_BUFFER_BYTES}). */
  bufferBytes?: number;
  forward?: Partial<ForwardOptions>;
  /** Jitter of the waits between attempts (tests: a fixed value). */
  random?: () => number;
}

/** A coded error whose message names its code too: A2A clients see only the message (JSON-RPC -32603). */
function coded(code: 'TROUPE_ERR_A2A_HOME_UNREACHABLE' | 'TROUPE_ERR_A2A_STREAM_OVERFLOW', message: string, options?: { cause: unknown }): TroupeError {
  return new TroupeError(code, `${code}: ${message}`, options);
}

type Host = Pick<ModuleHost, 'spawnSpec' | 'ask' | 'watch' | 'logger' | 'clock'>;

/** One forwarded stream's bounded queue, read by its generator: in order (a gap ends it), bounded in events and bytes (an overflow ends it). */
export class EventQueue {
  private readonly items: Array<{ event: Record<string, unknown>; bytes: number }> = [];
  private ended: { error?: Error } | undefined;
  private wake: (() => void) | undefined;
  private next = 0;
  /** Bytes of the events waiting (their JSON's length). */
  private bytes = 0;

  constructor(private readonly max: number, private readonly maxBytes = DEFAULT_STREAM_BUFFER_BYTES) {}

  /** Bytes of the events waiting for the reader. */
  get buffered(): number {
    return this.bytes;
  }

  push(m: StreamMessage): void {
    if (this.ended) return;
    // over one link the events arrive in order; a gap means some were lost with the link
    if (m.seq !== this.next) return this.end(coded('TROUPE_ERR_A2A_HOME_UNREACHABLE', `events of the task's stream were lost on the peer link (got ${m.seq}, expected ${this.next})`));
    this.next++;
    if (m.type === 'a2a.home.end') return this.end(m.error ? fromWireError(m.error) : undefined);
    if (this.items.length >= this.max) return this.end(coded('TROUPE_ERR_A2A_STREAM_OVERFLOW', `more than ${this.max} events of the task waited for the reader; the stream ends (the task goes on: get or resubscribe to it)`));
    // a few large artifacts weigh more than many small status updates: bytes are bounded too
    const bytes = Buffer.byteLength(JSON.stringify(m.event));
    if (this.bytes + bytes > this.maxBytes) {
      return this.end(coded('TROUPE_ERR_A2A_STREAM_OVERFLOW', `more than ${this.maxBytes} bytes of the task's events waited for the reader; the stream ends (the task goes on: get or resubscribe to it)`));
    }
    this.bytes += bytes;
    this.items.push({ event: m.event, bytes });
    this.poke();
  }

  end(error?: Error): void {
    if (this.ended) return;
    this.ended = error ? { error } : {};
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *drain(): AsyncGenerator<Record<string, unknown>> {
    for (;;) {
      while (this.items.length > 0) {
        const item = this.items.shift()!;
        this.bytes -= item.bytes;
        yield item.event;
      }
      if (this.ended) {
        if (this.ended.error) throw this.ended.error;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

/**
 * The node's side of tasks whose agent lives on another node: request handlers that forward
 * each call to the agent's node's home actor (`/system/a2a-tasks`), and the streams actor
 * (`/system/a2a-streams`) that takes their events back into bounded per-stream queues. A call
 * the link fails is asked again (backoff on the node's clock, within its deadline and
 * `retryWindowMs` of unreachability; the home runs a named call once). A peer link that
 * drops (the agent's node goes down) ends its streams with TROUPE_ERR_A2A_HOME_UNREACHABLE;
 * the task itself goes on (or is recovered) on its node.
 *
 * @example
 * const link = new HomeLink(host, log);
 * const handler = link.handlerFor('far', 'n2', card); // an A2ARequestHandler for the SDK's transports
 * const task = await handler.getTask({ tenant: '', id, historyLength: undefined }, ctx); // read on n2
 */
export class HomeLink {
  private readonly streams = new Map<string, { queue: EventQueue; home: string }>();
  readonly ref: ActorRef;
  private readonly bufferEvents: number;
  private readonly bufferBytes: number;
  private readonly forward: ForwardOptions;
  private readonly random: () => number;
  /** Attempts asked again so far (a link that dropped, an answer that did not come back). */
  retries = 0;
  private closing = false;

  constructor(private readonly host: Host, private readonly log: Logger, options: HomeLinkOptions = {}) {
    this.bufferEvents = options.bufferEvents ?? DEFAULT_STREAM_BUFFER;
    this.bufferBytes = options.bufferBytes ?? DEFAULT_STREAM_BUFFER_BYTES;
    this.forward = forwardOptionsSchema.parse(options.forward ?? {});
    this.random = options.random ?? Math.random;
    this.ref = host.spawnSpec({
      name: STREAMS_NAME,
      behaviour: {
        messages: streamMessageSchema,
        signalStarted: false,
        receive: (_s: unknown, m: StreamMessage, ctx: any) => {
          const s = this.streams.get(m.streamId);
          // only the stream's own home may feed it
          if (!s || ctx.sender?.address !== s.home) return;
          s.queue.push(m);
        },
      },
    }, 'system');
  }

  /** Streams followed now. */
  get open(): number {
    return this.streams.size;
  }

  /** The request handler of an agent of node `node`, answering with `card` locally. */
  handlerFor(agent: string, node: string, card: AgentCard): A2ARequestHandler {
    return new HomeForwarder(this, agent, `troupe://${node}/${HOME_PATH}`, card);
  }

  /** End every stream (the node is closing); calls waiting to be asked again give up. */
  closeAll(): void {
    this.closing = true;
    for (const s of this.streams.values()) s.queue.end(coded('TROUPE_ERR_A2A_HOME_UNREACHABLE', 'this node is stopping; the task goes on on its node'));
  }

  async call(home: string, agent: string, method: UnaryMethod, params: unknown, ctx: ServerCallContext): Promise<unknown> {
    // a call that changes something is named, so that its repeats run it once on the home
    const named = READ_METHODS.has(method) ? {} : { callId: randomUUID() };
    const reply = await this.ask(home, { type: 'a2a.home.call', agent, method, params: PARAMS[method].toJSON(params), caller: callerOf(ctx), ...named }, method === 'sendMessage' ? SEND_TIMEOUT_MS : CALL_TIMEOUT_MS);
    return RESULTS[method].fromJSON(reply);
  }

  async *stream(home: string, agent: string, method: StreamMethod, params: unknown, ctx: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    if (this.streams.size >= MAX_STREAMS) throw coded('TROUPE_ERR_A2A_STREAM_OVERFLOW', `this node follows ${MAX_STREAMS} streams of other nodes' tasks already`);
    const streamId = randomUUID();
    const queue = new EventQueue(this.bufferEvents, this.bufferBytes);
    this.streams.set(streamId, { queue, home });
    let unwatch: (() => void) | undefined;
    try {
      // a start the link cut is asked again: the home starts a stream id once
      await this.ask(home, {
        type: 'a2a.home.stream', agent, method, params: PARAMS[method].toJSON(params), caller: callerOf(ctx), streamId, replyTo: this.ref.address,
      }, START_TIMEOUT_MS);
      // the home node going down (or the actor gone) ends the stream; the task stays on its node
      unwatch = this.host.watch(home, (t) => queue.end(coded('TROUPE_ERR_A2A_HOME_UNREACHABLE', `the agent's node is unreachable (${t.reason}); the task's state stays on its node`)));
      for await (const ev of queue.drain()) yield EVENT.fromJSON(ev) as StreamResponse;
    } finally {
      unwatch?.();
      this.streams.delete(streamId);
    }
  }

  /**
   * Ask the home, riding out a link that drops: an attempt that fails on the link (the node
   * down, the answer not back within `attemptTimeoutMs`) is asked again, the same message
   * (a named call runs once on the home), after a backoff on the node's clock, until the
   * call's deadline, or until the node has been unreachable for `retryWindowMs`.
   */
  private async ask(home: string, message: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const clock = this.host.clock;
    const f = this.forward;
    const deadline = clock.now() + timeoutMs;
    let unreachableSince: number | undefined;
    let last: TroupeError | undefined;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - clock.now();
      let code: string | undefined;
      if (left > 0) {
        const r = await this.attempt(home, { ...message, retryForMs: Math.ceil(left) }, Math.max(1, Math.min(left, f.attemptTimeoutMs)));
        if ('result' in r) return r.result;
        last = r.error;
        code = r.error.code;
      }
      const now = clock.now();
      if (code !== undefined && UNREACHABLE.has(code)) unreachableSince ??= now;
      else unreachableSince = undefined;
      const wait = exponentialDelay(attempt, { minMs: f.backoffMinMs, maxMs: Math.max(f.backoffMinMs, f.backoffMaxMs), randomFactor: 0.2 }, this.random());
      const gaveUp = this.closing || now + wait >= deadline || (unreachableSince !== undefined && now + wait - unreachableSince > f.retryWindowMs);
      if (gaveUp || code === undefined) {
        const why = last?.code ?? 'no time left';
        this.log.debug({ err: last, home, attempts: attempt + 1 }, 'A2A call to the agent\'s node given up');
        throw coded('TROUPE_ERR_A2A_HOME_UNREACHABLE', `the agent's node did not answer (${why}, after ${attempt + 1} attempt${attempt === 0 ? '' : 's'})`, { cause: last });
      }
      this.retries++;
      this.log.debug({ home, attempt: attempt + 1, code, waitMs: wait }, 'A2A call to the agent\'s node asked again');
      await new Promise<void>((resolve) => clock.setTimeout(resolve, wait));
    }
  }

  /** One ask: the call's result, or an error of the link to ask again after; the call's own errors are thrown. */
  private async attempt(home: string, message: Record<string, unknown>, timeoutMs: number): Promise<{ result: unknown } | { error: TroupeError }> {
    let raw: unknown;
    try {
      raw = await this.host.ask(home, message, { timeoutMs });
    } catch (e) {
      if (e instanceof TroupeError && RETRIED.has(e.code)) return { error: e };
      this.log.debug({ err: e, home }, 'A2A call to the agent\'s node failed');
      throw coded('TROUPE_ERR_A2A_HOME_UNREACHABLE', `the agent's node did not answer (${e instanceof TroupeError ? e.code : 'error'})`, { cause: e });
    }
    const reply = callReplySchema.safeParse(raw);
    if (!reply.success) throw coded('TROUPE_ERR_A2A_HOME_UNREACHABLE', 'the agent\'s node answered with something that is not a call reply');
    if (reply.data.ok) return { result: reply.data.result };
    const error = fromWireError(reply.data.error as WireError);
    // a home too busy to take the call: like a link that drops, asked again
    if (error instanceof TroupeError && error.code === 'TROUPE_ERR_ACTOR_MAILBOX_FULL') return { error };
    throw error;
  }
}

/** An agent's request handler on a node that is not the agent's: every call goes to its home. */
class HomeForwarder implements A2ARequestHandler {
  constructor(private readonly link: HomeLink, private readonly agent: string, private readonly home: string, private readonly card: AgentCard) {}

  async getAgentCard(): Promise<AgentCard> {
    return this.card;
  }

  async getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    return this.card;
  }

  sendMessage(...a: Parameters<A2ARequestHandler['sendMessage']>): ReturnType<A2ARequestHandler['sendMessage']> {
    return this.link.call(this.home, this.agent, 'sendMessage', ...a) as ReturnType<A2ARequestHandler['sendMessage']>;
  }

  sendMessageStream(...a: Parameters<A2ARequestHandler['sendMessageStream']>): ReturnType<A2ARequestHandler['sendMessageStream']> {
    return this.link.stream(this.home, this.agent, 'sendMessageStream', ...a);
  }

  resubscribe(...a: Parameters<A2ARequestHandler['resubscribe']>): ReturnType<A2ARequestHandler['resubscribe']> {
    return this.link.stream(this.home, this.agent, 'resubscribe', ...a);
  }

  getTask(...a: Parameters<A2ARequestHandler['getTask']>): ReturnType<A2ARequestHandler['getTask']> {
    return this.link.call(this.home, this.agent, 'getTask', ...a) as ReturnType<A2ARequestHandler['getTask']>;
  }

  cancelTask(...a: Parameters<A2ARequestHandler['cancelTask']>): ReturnType<A2ARequestHandler['cancelTask']> {
    return this.link.call(this.home, this.agent, 'cancelTask', ...a) as ReturnType<A2ARequestHandler['cancelTask']>;
  }

  listTasks(...a: Parameters<A2ARequestHandler['listTasks']>): ReturnType<A2ARequestHandler['listTasks']> {
    return this.link.call(this.home, this.agent, 'listTasks', ...a) as ReturnType<A2ARequestHandler['listTasks']>;
  }

  createTaskPushNotificationConfig(...a: Parameters<A2ARequestHandler['createTaskPushNotificationConfig']>): ReturnType<A2ARequestHandler['createTaskPushNotificationConfig']> {
    return this.link.call(this.home, this.agent, 'createTaskPushNotificationConfig', ...a) as ReturnType<A2ARequestHandler['createTaskPushNotificationConfig']>;
  }

  getTaskPushNotificationConfig(...a: Parameters<A2ARequestHandler['getTaskPushNotificationConfig']>): ReturnType<A2ARequestHandler['getTaskPushNotificationConfig']> {
    return this.link.call(this.home, this.agent, 'getTaskPushNotificationConfig', ...a) as ReturnType<A2ARequestHandler['getTaskPushNotificationConfig']>;
  }

  listTaskPushNotificationConfigs(...a: Parameters<A2ARequestHandler['listTaskPushNotificationConfigs']>): ReturnType<A2ARequestHandler['listTaskPushNotificationConfigs']> {
    return this.link.call(this.home, this.agent, 'listTaskPushNotificationConfigs', ...a) as ReturnType<A2ARequestHandler['listTaskPushNotificationConfigs']>;
  }

  async deleteTaskPushNotificationConfig(...a: Parameters<A2ARequestHandler['deleteTaskPushNotificationConfig']>): Promise<void> {
    await this.link.call(this.home, this.agent, 'deleteTaskPushNotificationConfig', ...a);
  }
}
