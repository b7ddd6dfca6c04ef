import { Deadlines, TroupeError, deserializeError, prefixedId, type Timed } from '../../protocol/index.js';
import type { ModelDelta } from '../../protocol/index.js';
import type { Behaviour, Context } from '../kernel/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { checkRunMessage, type RequesterMessage, type RunMessageInput, type RunOptions, type RunRequest, type RunResult } from '../agent/index.js';
import {
  GATEWAY_INSTANCES, GatewayCancel, GatewayRequest, GatewayStream, describeTarget, gatewayMessageSchema, type GatewayMessage, type GatewayTarget,
} from './messages.js';

/** Resolves a target's key (an agent's name) to a ref, or throws the coded reason it cannot. */
export type TargetResolver = (key: string) => ActorRef | Promise<ActorRef>;

/** What the gateway actor needs from its node. */
export type GatewayActorHost = Pick<ModuleHost, 'id' | 'clock' | 'logger' | 'spawnSpec' | 'toRef' | 'tell' | 'ask' | 'emit'>;

/** A run in flight, and its own deadline entry (no closure, no timer of its own). */
class Pending implements Timed {
  deadlineWindow?: unknown;
  deadlineSlot?: number;
  /** The target's ref, once resolved (where a cancel goes). */
  ref?: ActorRef;
  onDelta?: (d: ModelDelta) => void;
  detach?: () => void;

  constructor(
    private readonly gateway: GatewayActor,
    readonly runId: string,
    readonly target: GatewayTarget,
    readonly startedAt: number,
    private readonly timeoutMs: number,
    readonly resolve: (r: RunResult) => void,
    readonly reject: (e: unknown) => void,
  ) {}

  onDeadline(): void {
    this.gateway.cancel(this.runId, new TroupeError('TROUPE_ERR_AGENT_TIMEOUT', `no result within ${this.timeoutMs}ms`));
  }
}

const DEFAULT_RUN_TIMEOUT_MS = 600_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/** How long a target has to accept a run (answer the `agent.run` ask). */
const ACCEPT_TIMEOUT_MS = 30_000;
/** Runs and requests in flight at once past which new ones are refused (the mailbox's bound too). */
const MAX_IN_FLIGHT = 100_000;

/** A ref, address or path stays as it is; anything else is wrapped as a gateway target. */
function targetOf(t: GatewayTarget | ActorRef | string): GatewayTarget {
  if (typeof t === 'string') return { kind: 'actor', address: t };
  if ('kind' in t) return t;
  return { kind: 'actor', address: t.address };
}

/**
 * The gateway actor (`/system/gateway`): the one place where a protocol request (OpenAI,
 * the agents API, later A2A and MCP) becomes actor messages. Callers (the HTTP routes,
 * `node.agents.run`) send it commands (`gateway.stream`, `gateway.request`,
 * `gateway.cancel`); it resolves the target and talks to it with one run protocol for
 * local and remote targets alike: ask `agent.run` (answered by the acceptance), then
 * `agent.delta`s and one `agent.result` or `agent.error` told back to this actor. Runs in
 * flight live in a table outside the actor's state, so a restart of the actor loses none.
 *
 * @example
 * const result = await gateway.run({ kind: 'agent', name: 'assistant' }, {
 *   input: [{ role: 'user', content: 'hi' }], stream: true,
 * }, { onDelta: (d) => d.type === 'content' && process.stdout.write(d.text) });
 */
export class GatewayActor {
  readonly ref: ActorRef;
  /** Observer of the actor's traffic with its targets (metrics count messages with it). */
  traffic?: (direction: 'in' | 'out', type: string) => void;
  private readonly pending = new Map<string, Pending>();
  private readonly resolvers = new Map<string, TargetResolver>();
  /** Run timeouts: one timer per 10 ms window, not per run. */
  private readonly deadlines: Deadlines;

  constructor(private readonly host: GatewayActorHost, name = 'gateway') {
    this.deadlines = new Deadlines(host.clock);
    const b: Behaviour<undefined, GatewayMessage> = {
      messages: gatewayMessageSchema,
      instances: GATEWAY_INSTANCES,
      receive: (_s, m, ctx) => {
        this.onMessage(m, ctx);
      },
    };
    this.ref = host.spawnSpec({ name, behaviour: b, mailboxCapacity: MAX_IN_FLIGHT }, 'system');
  }

  /** Runs awaiting their result. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Resolve targets of a kind (`agent`) with `resolve`: a module that owns such targets
   * registers it when it starts.
   */
  addResolver(kind: GatewayTarget['kind'], resolve: TargetResolver): void {
    this.resolvers.set(kind, resolve);
  }

  /**
   * Start a run on a target (an agent by name, or any actor speaking the run protocol, local
   * or remote) and resolve with its result; rejects with the run's coded error.
   */
  run(target: GatewayTarget | ActorRef | string, req: RunRequest, opts: RunOptions = {}): Promise<RunResult> {
    const runId = opts.runId ?? prefixedId('run_');
    const t = targetOf(target);
    return new Promise<RunResult>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled before it started'));
        return;
      }
      if (this.pending.has(runId)) {
        reject(new TroupeError('TROUPE_ERR_AGENT_RUN_DUPLICATE', `run ${runId} is already in flight`));
        return;
      }
      const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
      const startedAt = this.host.clock.now();
      const p = new Pending(this, runId, t, startedAt, timeoutMs, resolve, reject);
      this.deadlines.add(timeoutMs, p, startedAt);
      if (opts.onDelta) p.onDelta = opts.onDelta;
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = (): void => this.cancel(runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled by the caller', { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        p.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(runId, p);
      try {
        this.host.tell(this.ref, new GatewayStream(runId, t, req, opts.correlationId, Math.min(ACCEPT_TIMEOUT_MS, timeoutMs)));
      } catch (e) {
        this.settle(runId, e);
      }
    });
  }

  /** One ask to a target through the gateway actor (the agents API, directory lookups). */
  request<R = unknown>(target: GatewayTarget | ActorRef | string, message: unknown, opts: { timeoutMs?: number; correlationId?: string } = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const settle = (error: unknown, value?: unknown): void => {
        if (error === undefined) resolve(value as R);
        else reject(error);
      };
      this.host.tell(this.ref, new GatewayRequest(targetOf(target), message, opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, opts.correlationId, settle));
    });
  }

  /** Cancel a run: it fails with `error`, and its target is told to abort it. */
  cancel(runId: string, error: unknown = new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled')): void {
    if (!this.pending.has(runId)) return;
    try {
      this.host.tell(this.ref, new GatewayCancel(runId, error));
    } catch {
      // the gateway actor cannot take it (full, or stopping): the caller is failed from here
      this.abort(runId, error);
    }
  }

  /**
   * Fail every run still in flight with `error` (the node is closing: nothing will answer
   * them any more).
   */
  closeAll(error: unknown): void {
    for (const runId of [...this.pending.keys()]) this.settle(runId, error);
  }

  /** Make a new run id. */
  newRunId(): string {
    return prefixedId('run_');
  }

  // ---- the actor ----------------------------------------------------------------------------

  private onMessage(m: GatewayMessage, ctx: Context<GatewayMessage>): void {
    switch (m.type) {
      case 'gateway.stream':
        this.host.emit({ type: 'gateway.message', messageType: m.type, runId: m.runId, target: describeTarget(m.target) });
        this.onStream(m);
        return;
      case 'gateway.request':
        this.host.emit({ type: 'gateway.message', messageType: m.type, target: describeTarget(m.target) });
        this.onRequest(m);
        return;
      case 'gateway.cancel':
        this.host.emit({ type: 'gateway.message', messageType: m.type, runId: m.runId });
        this.abort(m.runId, m.error);
        return;
      default:
        this.host.emit({ type: 'gateway.message', messageType: m.type, runId: m.runId });
        this.onReply(m, ctx);
    }
  }

  /** The target's ref: at once when the resolver knows it, else once it answers. */
  private resolve(t: GatewayTarget): ActorRef | Promise<ActorRef> {
    if (t.kind === 'actor') return this.host.toRef(t.address);
    const r = this.resolvers.get(t.kind);
    if (!r) throw new TroupeError('TROUPE_ERR_NODE_MODULE_MISSING', `no module of this node resolves ${t.kind} targets`);
    return r(t.name);
  }

  /** Resolve, then go on with the ref; a failure goes to `fail`. */
  private withRef(t: GatewayTarget, go: (ref: ActorRef) => void, fail: (e: unknown) => void): void {
    let r: ActorRef | Promise<ActorRef>;
    try {
      r = this.resolve(t);
    } catch (e) {
      fail(e);
      return;
    }
    if (r instanceof Promise) r.then(go, fail);
    else go(r);
  }

  private onStream(m: GatewayStream): void {
    if (!this.pending.has(m.runId)) return; // cancelled meanwhile
    this.withRef(m.target, (ref) => this.startRun(m, ref), (e) => this.settle(m.runId, e));
  }

  private startRun(m: GatewayStream, ref: ActorRef): void {
    const p = this.pending.get(m.runId);
    if (!p) return;
    p.ref = ref;
    const req = m.request;
    const msg: RunMessageInput = { type: 'agent.run', runId: m.runId, replyTo: this.ref.address, input: req.input, stream: req.stream === true };
    if (req.conversationId !== undefined) msg.conversationId = req.conversationId;
    if (req.clientTools && req.clientTools.length > 0) msg.clientTools = req.clientTools;
    if (req.toolChoice !== undefined) msg.toolChoice = req.toolChoice;
    if (req.params) msg.params = req.params;
    if (req.queueDeadlineMs !== undefined) msg.queueDeadlineMs = req.queueDeadlineMs;
    if (req.caller !== undefined) msg.caller = req.caller;
    if (req.a2a) msg.a2a = req.a2a;
    let checked;
    try {
      // checked here, once: the agent's mailbox takes the instance as it is
      checked = checkRunMessage(msg, ref.address);
    } catch (e) {
      this.settle(m.runId, e);
      return;
    }
    this.traffic?.('out', msg.type);
    // Asked, local or remote alike: the answer is the acceptance, or the reason it was refused
    // (no such actor, a full mailbox, a busy agent, an unreachable node).
    this.host.ask(ref, checked, m.correlationId === undefined ? { timeoutMs: m.acceptTimeoutMs } : { timeoutMs: m.acceptTimeoutMs, correlationId: m.correlationId })
      .catch((e: unknown) => {
        if (!this.pending.has(m.runId)) return;
        // The target may have taken the run and be slow to say so: it is told to drop it.
        if (e instanceof TroupeError && e.code === 'TROUPE_ERR_ACTOR_ASK_TIMEOUT') this.cancel(m.runId, e);
        else this.settle(m.runId, e);
      });
  }

  private onRequest(m: GatewayRequest): void {
    this.withRef(m.target, (ref) => {
      this.host.ask(ref, m.message, m.correlationId === undefined ? { timeoutMs: m.timeoutMs } : { timeoutMs: m.timeoutMs, correlationId: m.correlationId })
        .then((v) => m.settle(undefined, v), (e: unknown) => m.settle(e));
    }, (e) => m.settle(e));
  }

  private onReply(m: RequesterMessage, ctx: Context<GatewayMessage>): void {
    this.traffic?.('in', m.type);
    const p = this.pending.get(m.runId);
    if (!p) return; // cancelled or timed out already
    // Only the run's target settles it: a reply from any other actor (or node) is ignored.
    if (p.ref === undefined || ctx.sender?.address !== p.ref.address) {
      ctx.log.warn({ runId: m.runId, from: ctx.sender?.address, type: m.type }, 'run reply from an actor that is not the run\'s target; ignored');
      return;
    }
    switch (m.type) {
      case 'agent.delta':
        try {
          p.onDelta?.(m.delta);
        } catch (e) {
          ctx.log.warn({ err: e, runId: m.runId }, 'delta listener threw; cancelling the run');
          this.abort(m.runId, e);
        }
        return;
      case 'agent.result': {
        const now = this.host.clock.now();
        // the result is this message's own (built for it by the agent, or parsed from the
        // wire): the gateway's hop goes first in its chain, in place
        const result = m.result;
        result.trace.chain.unshift({ kind: 'gateway', actor: this.ref.address, node: this.host.id, startedAt: p.startedAt, durationMs: now - p.startedAt, ok: true });
        this.settle(m.runId, undefined, result);
        return;
      }
      case 'agent.error':
        this.settle(m.runId, deserializeError(m.error));
        return;
    }
  }

  /** Fail a run now and tell its target (when known) to drop it. */
  private abort(runId: string, error: unknown): void {
    const p = this.pending.get(runId);
    if (!p) return;
    this.settle(runId, error);
    if (!p.ref) return;
    try {
      this.traffic?.('out', 'agent.cancel');
      this.host.tell(p.ref, { type: 'agent.cancel', runId, reason: error instanceof Error ? error.message.slice(0, 200) : 'cancelled' }, { sender: this.ref });
    } catch (e) {
      this.host.logger.debug({ err: e, runId }, 'cancel not delivered');
    }
  }

  private settle(runId: string, error: unknown, result?: RunResult): void {
    const p = this.pending.get(runId);
    if (!p) return;
    this.pending.delete(runId);
    this.deadlines.cancel(p);
    p.detach?.();
    if (result) p.resolve(result);
    else p.reject(error);
  }
}
