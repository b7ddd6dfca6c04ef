import type { Logger } from 'pino';
import { Deadlines, TroupeError, deserializeError, prefixedId, type Clock, type Timed } from '../../protocol/index.js';
import type { ChatMessage, ModelDelta, ToolChoice, ToolSpec } from '../../protocol/openai.js';
import type { ActorSpec, AskOptions, Behaviour, TellOptions } from '../kernel/index.js';
import type { ActorRef } from '../kernel/index.js';
import { requesterMessageSchema, type RequesterMessage, type RunMessageInput, type RunParams, type RunResult } from './messages.js';
import { agentInboxSchema } from './agent-actor.js';

/** What a caller asks of an agent. */
export interface RunRequest {
  /** Continue (and extend) this stored conversation; without it the input is the whole context. */
  conversationId?: string;
  input: ChatMessage[];
  /** Deliver deltas to `onDelta` while the model answers. */
  stream?: boolean;
  /** The caller's own tools (OpenAI `tools`): the run ends when the model calls one. */
  clientTools?: ToolSpec[];
  toolChoice?: ToolChoice;
  params?: RunParams;
}

export interface RunOptions {
  onDelta?: (delta: ModelDelta) => void;
  /** Aborting cancels the run, and the agent aborts its upstream request. */
  signal?: AbortSignal;
  /** Give up (and cancel) after this long; default 10 minutes. */
  timeoutMs?: number;
  correlationId?: string;
  runId?: string;
  /**
   * The request was built from input already validated (the gateway's routes validate the
   * HTTP body), so the agent.run message is not checked again by an agent on this node
   * (see TellOptions.trusted). Leave it unset for input of unknown shape.
   */
  trusted?: boolean;
}

/** The part of a node the client needs. */
export interface ClientHost {
  readonly id: string;
  readonly clock: Clock;
  readonly logger: Logger;
  spawnSpec(spec: ActorSpec, under?: 'user' | 'system'): ActorRef;
  toRef(target: ActorRef | string): ActorRef;
  lookup(target: ActorRef | string): ActorRef | undefined;
  tell<M>(target: ActorRef<M> | string, message: M, options?: TellOptions): void;
  ask<R = unknown, M = unknown>(target: ActorRef<M> | string, message: M, options?: AskOptions): Promise<R>;
}

interface Pending {
  agent: ActorRef | string;
  startedAt: number;
  onDelta?: (d: ModelDelta) => void;
  resolve: (r: RunResult) => void;
  reject: (e: unknown) => void;
  timer: Timed;
  detach?: () => void;
}

const DEFAULT_RUN_TIMEOUT_MS = 600_000;
const ACK_TIMEOUT_MS = 30_000;

/**
 * The requester side of the agent protocol: one actor (by default `/system/gateway`, the
 * gateway actor) that every run names as its `replyTo`, so deltas and results come back
 * as messages, from this node or another. Runs in flight live in a table outside the
 * actor's state, so a restart of the actor loses none.
 *
 * @example
 * const result = await node.agents.client.run(node.agents.resolve('assistant')!, {
 *   input: [{ role: 'user', content: 'hi' }], stream: true,
 * }, { onDelta: (d) => d.type === 'content' && process.stdout.write(d.text) });
 */
export class AgentClient {
  readonly ref: ActorRef;
  /** Observer of the actor's traffic (metrics count messages with it). */
  traffic?: (direction: 'in' | 'out', type: string) => void;
  private readonly pending = new Map<string, Pending>();
  /** Run timeouts: one timer per 10 ms window, not per run. */
  private readonly deadlines: Deadlines;

  constructor(private readonly host: ClientHost, name = 'gateway') {
    this.deadlines = new Deadlines(host.clock);
    const b: Behaviour<undefined, RequesterMessage> = {
      messages: requesterMessageSchema,
      receive: (_s, m) => {
        this.onMessage(m);
      },
    };
    this.ref = host.spawnSpec({ name, behaviour: b, mailboxCapacity: 100_000 }, 'system');
  }

  /** Runs awaiting their result. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Start a run on an agent (a ref or address, local or remote) and resolve with its
   * result; rejects with the run's coded error.
   */
  run(agent: ActorRef | string, req: RunRequest, opts: RunOptions = {}): Promise<RunResult> {
    const { clock } = this.host;
    const runId = opts.runId ?? prefixedId('run_');
    return new Promise<RunResult>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled before it started'));
        return;
      }
      const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
      const startedAt = clock.now();
      const p: Pending = {
        agent,
        startedAt,
        ...(opts.onDelta ? { onDelta: opts.onDelta } : {}),
        resolve,
        reject,
        timer: this.deadlines.after(timeoutMs, () => this.cancel(runId, new TroupeError('TROUPE_ERR_AGENT_TIMEOUT', `no result within ${timeoutMs}ms`)), startedAt),
      };
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = (): void => this.cancel(runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled by the caller', { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        p.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(runId, p);
      const msg: RunMessageInput = { type: 'agent.run', runId, replyTo: this.ref.address, input: req.input, stream: req.stream === true };
      if (req.conversationId !== undefined) msg.conversationId = req.conversationId;
      if (req.clientTools && req.clientTools.length > 0) msg.clientTools = req.clientTools;
      if (req.toolChoice !== undefined) msg.toolChoice = req.toolChoice;
      if (req.params) msg.params = req.params;
      this.traffic?.('out', msg.type);
      const ref = this.host.toRef(agent);
      if (ref.node === this.host.id) {
        // Local: a tell fails at once on a full mailbox or a bad message; a missing agent is
        // checked first. A refused run comes back as `agent.error`.
        if (!this.host.lookup(ref)) {
          this.settle(runId, new TroupeError('TROUPE_ERR_AGENT_NOT_FOUND', `no live agent at ${ref.address}`));
          return;
        }
        try {
          const o: TellOptions = { sender: this.ref };
          if (opts.correlationId) o.correlationId = opts.correlationId;
          this.host.tell(ref, msg, o);
        } catch (e) {
          this.settle(runId, e);
        }
        return;
      }
      // Remote: asked, not told, so an unreachable or missing agent fails at once.
      this.host.ask(ref, msg, { timeoutMs: Math.min(ACK_TIMEOUT_MS, timeoutMs), ...(opts.correlationId ? { correlationId: opts.correlationId } : {}) })
        .catch((e: unknown) => {
          if (!this.pending.has(runId)) return;
          if (e instanceof TroupeError && e.code === 'TROUPE_ERR_ACTOR_ASK_TIMEOUT') this.cancel(runId, e);
          else this.settle(runId, e);
        });
    });
  }

  /** Cancel a run: it rejects with `error` now and the agent is told to abort it. */
  cancel(runId: string, error: unknown = new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled')): void {
    const p = this.pending.get(runId);
    if (!p) return;
    this.settle(runId, error);
    try {
      this.traffic?.('out', 'agent.cancel');
      this.host.tell(p.agent, { type: 'agent.cancel', runId, reason: error instanceof Error ? error.message.slice(0, 200) : 'cancelled' }, { sender: this.ref });
    } catch (e) {
      this.host.logger.debug({ err: e, runId }, 'cancel not delivered');
    }
  }

  private onMessage(m: RequesterMessage): void {
    this.traffic?.('in', m.type);
    const p = this.pending.get(m.runId);
    if (!p) return; // cancelled or timed out already
    switch (m.type) {
      case 'agent.delta':
        try {
          p.onDelta?.(m.delta);
        } catch (e) {
          this.host.logger.warn({ err: e, runId: m.runId }, 'delta listener threw; cancelling the run');
          this.cancel(m.runId, e);
        }
        return;
      case 'agent.result': {
        const now = this.host.clock.now();
        const hop = { kind: 'gateway' as const, actor: this.ref.address, node: this.host.id, startedAt: p.startedAt, durationMs: now - p.startedAt, ok: true };
        this.settle(m.runId, undefined, { ...m.result, trace: { ...m.result.trace, chain: [hop, ...m.result.trace.chain] } });
        return;
      }
      case 'agent.error':
        this.settle(m.runId, deserializeError(m.error));
        return;
    }
  }

  private settle(runId: string, error: unknown, result?: RunResult): void {
    const p = this.pending.get(runId);
    if (!p) return;
    this.pending.delete(runId);
    this.deadlines.cancel(p.timer);
    p.detach?.();
    if (result) p.resolve(result);
    else p.reject(error);
  }
}
