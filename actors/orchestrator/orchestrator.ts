import type { Logger } from 'pino';
import { TroupeError, describeIssues, prefixedId } from '../../protocol/index.js';
import type { ActorRef, Context } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import type { AuditRecordInput } from '../audit/index.js';
import type { Dag } from './dag.js';
import { withApprovals } from './approval-policy.js';
import { validateDag } from './graph.js';
import type { ReviseRequest } from './session-revision.js';
import type { OrchestratorOptions } from './options.js';
import type { AgentCard, Planner } from './planner.js';
import type { NodeRunner } from './runner.js';
import { sessionBehaviour } from './session-actor.js';
import { sessionOfApproval } from './session-approvals.js';
import type { SessionIndex, SessionSummary } from './session-index.js';
import { decisionSchema, type SessionMessage, type SessionProgress } from './session-messages.js';
import { TERMINAL_SESSION, type ApprovalRecord, type SessionOrigin, type SessionState } from './session-state.js';
import { ChatRouter, type Classifier, type RouteDecision, type RouteInput } from './router.js';
import { approvalView, sessionView, summaryView } from './views.js';
import { ApprovalBook, auditDecision } from './approval-book.js';

/** What the orchestrator is built from (the module makes the defaults). */
export interface OrchestratorDeps {
  runner: () => NodeRunner;
  planner: Planner;
  /** The agents a plan may use (the cluster's agent cards). */
  catalog: () => Promise<AgentCard[]>;
  index: SessionIndex;
  /** Decides simple or complex for requests no rule decided (default: the heuristic). */
  classifier?: Classifier;
  /** Where decisions are recorded (the audit module's `record`, when the node runs it). */
  audit?: (input: AuditRecordInput) => Promise<unknown>;
}

/** Options of one workflow. */
export interface StartOptions {
  /** A ready plan (validated like a planner's); without one, the planner makes it. */
  dag?: unknown;
  /** Progress of the workflow, from its first node on. */
  onProgress?: (p: SessionProgress) => void;
  /** The A2A task that starts it (journaled with the session). */
  origin?: SessionOrigin;
}

const ASK_MS = 30_000;

/**
 * The orchestrator module's API: workflows as session actors (`/system/orchestrator/<id>`),
 * planned by the planner, listed, read, cancelled, resumed by a request that attaches to
 * them, swept after their TTL; and their approvals, listed, read and decided.
 *
 * @example
 * const o = node.module<Orchestrator>('orchestrator');
 * const id = await o.start('research prices and research reviews, then write a summary');
 * const done = await o.attach(id); // the session once it finished or needs a decision
 */
export class Orchestrator {
  private readonly summaries = new Map<string, SessionSummary>();
  private readonly refs = new Map<string, ActorRef<SessionMessage>>();
  private readonly approvals = new ApprovalBook();
  private readonly listeners = new Map<string, Set<(p: SessionProgress) => void>>();
  private root?: Context;
  private readonly log: Logger;
  /** Routes chat requests for the orchestrator's model (its metric is on `router.registry`). */
  readonly router: ChatRouter;

  constructor(private readonly host: ModuleHost, readonly options: OrchestratorOptions, private readonly deps: OrchestratorDeps) {
    this.log = host.logger.child({ module: 'orchestrator' });
    this.router = new ChatRouter(host.id, this.log, deps.classifier);
  }

  /** Route a chat request for {@link OrchestratorOptions.model}: simple (the model) or complex (a workflow). */
  route(input: RouteInput): Promise<RouteDecision> {
    return this.router.route(input);
  }

  /** Bring back stored sessions (at start): open ones resume; expired ones are swept. */
  async restore(): Promise<void> {
    const now = this.host.clock.now();
    const all = this.deps.index.all((id, e) => this.log.error({ err: e, session: id }, 'could not restore a stored session'));
    for (const s of all) {
      // an open session's index record may be older than its last step: its actor knows
      if (TERMINAL_SESSION.has(s.status) && s.expires_at <= now) {
        await this.drop(s.id);
        continue;
      }
      this.summaries.set(s.id, s);
      if (!TERMINAL_SESSION.has(s.status)) this.refOf(s.id);
    }
    if (all.length > 0) this.log.info({ sessions: all.length }, 'sessions restored');
  }

  /** Plan (or take `dag`), create the session and start it; resolves with its id once created. */
  async start(request: string, o: StartOptions = {}): Promise<string> {
    if (typeof request !== 'string' || request.trim().length === 0) throw new TroupeError('TROUPE_ERR_SESSION_INVALID', 'the request is empty');
    let open = 0;
    for (const s of this.summaries.values()) if (!TERMINAL_SESSION.has(s.status)) open++;
    if (open >= this.options.maxSessions) throw new TroupeError('TROUPE_ERR_SESSION_LIMIT', `this node holds at most ${this.options.maxSessions} open sessions`);
    const cards = await this.deps.catalog();
    const dag = this.policy(o.dag !== undefined ? validateDag(o.dag, new Set(cards.map((c) => c.name))) : await this.deps.planner.plan({ request, agents: cards }), cards);
    const id = prefixedId('ses_');
    const off = o.onProgress ? this.subscribe(id, o.onProgress) : undefined;
    try {
      await this.host.ask(this.refOf(id), { type: 'session.create', request: request.slice(0, 100_000), dag, ttlMs: this.options.ttlMs, ...(o.origin ? { origin: o.origin } : {}) }, { timeoutMs: ASK_MS });
    } catch (e) {
      off?.();
      throw e;
    }
    this.log.info({ session: id, nodes: dag.nodes.length }, 'session started');
    return id;
  }

  /**
   * Wait for a session to finish or to need a decision (one attached request at a time:
   * another is TROUPE_ERR_SESSION_BUSY). The signal detaches.
   */
  async attach(id: string, o: { signal?: AbortSignal; onProgress?: (p: SessionProgress) => void } = {}): Promise<SessionState> {
    this.live(id);
    if (o.signal?.aborted) throw detached(id);
    const token = prefixedId('att_');
    const off = o.onProgress ? this.subscribe(id, o.onProgress) : undefined;
    let onAbort: (() => void) | undefined;
    try {
      const asked = this.askLive<SessionState>(id, { type: 'session.attach', token }, this.options.attachTimeoutMs);
      if (!o.signal) return await asked;
      const signal = o.signal;
      // the waiter goes at once; the session goes on (and forgets the waiter)
      return await new Promise<SessionState>((resolve, reject) => {
        onAbort = (): void => {
          const ref = this.refs.get(id);
          if (ref) this.host.tell(ref, { type: 'session.detach', token });
          asked.catch(() => undefined);
          reject(detached(id));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        asked.then(resolve, reject);
      });
    } finally {
      if (onAbort) o.signal?.removeEventListener('abort', onAbort);
      off?.();
    }
  }

  /** Follow a session's progress; returns the unsubscribe. */
  subscribe(id: string, fn: (p: SessionProgress) => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(id) === set) this.listeners.delete(id);
    };
  }

  /** `GET /v1/sessions/:id`. */
  async get(id: string): Promise<Record<string, unknown>> {
    return sessionView(await this.state(id));
  }

  /** A session's state (from its actor). */
  async state(id: string): Promise<SessionState> {
    return this.askLive<SessionState>(id, { type: 'session.get' });
  }

  /** Ask a session's actor; one that stopped meanwhile (passivated) is spawned again and asked once more. */
  private async askLive<R>(id: string, m: SessionMessage, timeoutMs = ASK_MS): Promise<R> {
    const ref = this.live(id);
    try {
      return await this.host.ask<R>(ref, m, { timeoutMs });
    } catch (e) {
      if (!(e instanceof TroupeError) || (e.code !== 'TROUPE_ERR_ACTOR_NOT_FOUND' && e.code !== 'TROUPE_ERR_ACTOR_STOPPED')) throw e;
      if (this.refs.get(id) === ref) this.refs.delete(id);
      return this.host.ask<R>(this.live(id), m, { timeoutMs });
    }
  }

  /** `GET /v1/sessions`, newest first. */
  list(filter: { status?: string; limit?: number } = {}): Record<string, unknown>[] {
    const now = this.host.clock.now();
    return [...this.summaries.values()]
      .filter((s) => s.expires_at > now && (!filter.status || s.status === filter.status))
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1))
      .slice(0, Math.min(1_000, filter.limit ?? 100))
      .map(summaryView);
  }

  /** `DELETE /v1/sessions/:id`: running nodes are cancelled. */
  async cancel(id: string): Promise<Record<string, unknown>> {
    return sessionView(await this.askLive<SessionState>(id, { type: 'session.cancel' }));
  }

  /** `POST /v1/approvals/:id`: one decision message to the session actor; the first wins. */
  async decide(approvalId: string, body: unknown, o: { key?: string; by?: string; source?: string } = {}): Promise<Record<string, unknown>> {
    const r = decisionSchema.safeParse(body ?? {});
    if (!r.success) throw new TroupeError('TROUPE_ERR_APPROVAL_INVALID', describeIssues(r.error, '(body)'), { details: { param: r.error.issues[0]?.path.join('.') ?? null } });
    const rec = await this.askLive<ApprovalRecord>(this.sessionOf(approvalId), {
      type: 'session.decide', approvalId, decision: r.data, by: o.by ?? 'anonymous', source: o.source ?? 'http', ...(o.key !== undefined ? { key: o.key } : {}),
    });
    this.log.info({ approval: approvalId, decision: rec.decision, by: rec.decided_by, source: rec.source }, 'approval decided');
    return approvalView(rec);
  }

  /** `GET /v1/approvals`: open ones first, then recent decisions. */
  listApprovals(filter: { status?: string } = {}): Record<string, unknown>[] {
    return this.approvals.list(filter);
  }

  /** `GET /v1/approvals/:id`. */
  async getApproval(approvalId: string): Promise<Record<string, unknown>> {
    const s = await this.state(this.sessionOf(approvalId)).catch((e: unknown) => {
      if (e instanceof TroupeError && e.code === 'TROUPE_ERR_SESSION_NOT_FOUND') throw notFound(approvalId);
      throw e;
    });
    const a = s.approvals[approvalId];
    if (!a) throw notFound(approvalId);
    return approvalView(a);
  }

  /** Sweep expired sessions: stop their actors, drop their journals and index records. */
  async sweep(): Promise<number> {
    const now = this.host.clock.now();
    const expired = [...this.summaries.values()].filter((s) => s.expires_at <= now).map((s) => s.id);
    for (const id of expired) await this.drop(id);
    if (expired.length > 0) this.log.info({ sessions: expired.length }, 'expired sessions swept');
    return expired.length;
  }

  /** Start the periodic sweep (on the node's clock). */
  startSweeps(): void {
    this.orchestratorRoot();
  }

  private async drop(id: string): Promise<void> {
    this.summaries.delete(id);
    this.approvals.dropSession(id);
    const ref = this.refs.get(id);
    this.refs.delete(id);
    try {
      if (ref) await this.host.stop(ref);
      await this.host.dropJournal(`session/${id}`);
      await this.deps.index.remove(id);
    } catch (e) {
      this.log.warn({ err: e, session: id }, 'could not sweep a session');
    }
  }

  private sessionOf(approvalId: string): string {
    const id = sessionOfApproval(approvalId);
    if (id === undefined || !this.known(id)) throw notFound(approvalId);
    return id;
  }

  private known(id: string): boolean {
    const s = this.summaries.get(id);
    return s !== undefined && s.expires_at > this.host.clock.now();
  }

  /** The actor of a known, unexpired session (spawned again if it is not running). */
  private live(id: string): ActorRef<SessionMessage> {
    if (!this.known(id)) throw new TroupeError('TROUPE_ERR_SESSION_NOT_FOUND', `no session ${String(id).slice(0, 100)}`);
    return this.refOf(id);
  }

  private refOf(id: string): ActorRef<SessionMessage> {
    const known = this.refs.get(id);
    if (known) return known;
    const o = this.options;
    const ref = this.orchestratorRoot().spawn<unknown, SessionMessage>({
      name: id,
      // restarted after a crash, not after it stops itself (passivation)
      restart: 'transient',
      mailboxCapacity: 10_000,
      behaviour: sessionBehaviour(id, {
        clock: this.host.clock,
        runner: this.deps.runner,
        logger: this.log,
        maxParallel: o.maxParallel,
        nodeTimeoutMs: o.nodeTimeoutMs,
        nodeRetries: o.nodeRetries,
        retryBackoffMs: o.retryBackoffMs,
        retryBackoffMaxMs: o.retryBackoffMaxMs,
        maxResultChars: o.maxResultChars,
        doubleTexting: o.doubleTexting,
        passivateAfterMs: o.passivateAfterMs,
        changed: (s) => this.changed(s),
        progress: (p) => this.progress(p),
        ...(this.deps.planner.revise ? { revise: (r) => this.revise(r) } : {}),
        decided: (a) => auditDecision(this.deps.audit, a, this.log),
      }) as never,
    });
    this.refs.set(id, ref);
    // a passivated (or stopped) session actor is spawned again, from its journal, when next asked
    this.host.watch(ref, () => {
      if (this.refs.get(id) === ref) this.refs.delete(id);
    });
    return ref;
  }

  /** The planner's revision, validated against the agents it may use. */
  private async revise(r: ReviseRequest): Promise<Dag | undefined> {
    const cards = await this.deps.catalog();
    const next = await this.deps.planner.revise?.({ ...r, agents: cards });
    if (next === undefined || next === null) return undefined;
    return this.policy(validateDag(next, new Set(cards.map((c) => c.name))), cards);
  }

  /** Approvals the agents' specs declare, and those the policy requires by action type (`approvalFor`). */
  private policy(dag: Dag, cards: readonly AgentCard[]): Dag {
    return withApprovals(dag, cards, { actions: new Set(this.options.approvalFor), defaults: { timeout_ms: this.options.approvalTimeoutMs, auto_action: this.options.approvalAutoAction } });
  }

  private changed(s: SessionState): void {
    if (!s.created || !this.refs.has(s.id)) return;
    const prev = this.summaries.get(s.id);
    const next: SessionSummary = {
      v: 1, id: s.id, status: s.status, request: s.request.slice(0, 200), created_at: s.created_at, updated_at: s.updated_at, expires_at: s.expires_at, nodes: s.dag.nodes.length,
    };
    this.summaries.set(s.id, next);
    this.approvals.note(Object.values(s.approvals));
    // the index only changes with the status (and at creation): a list after a restart
    // shows the last status; the journal holds every step
    if (!prev || prev.status !== next.status) {
      this.deps.index.put(next).catch((e: unknown) => this.log.warn({ err: e, session: s.id }, 'could not index a session'));
    }
  }

  private progress(p: SessionProgress): void {
    const set = this.listeners.get(p.session);
    if (!set) return;
    // the last event of a session: its listeners (start's `onProgress` included) are let go
    if (p.type === 'session.finished') this.listeners.delete(p.session);
    for (const fn of [...set]) {
      try {
        fn(p);
      } catch (e) {
        this.log.warn({ err: e, session: p.session }, 'a progress listener threw');
      }
    }
  }

  /** `/system/orchestrator`: the parent of the session actors, and the sweep timer's owner. */
  private orchestratorRoot(): Context {
    if (this.root) return this.root;
    const every = this.options.sweepEveryMs;
    this.host.spawnSpec({
      name: 'orchestrator',
      behaviour: {
        initial: (ctx: Context) => {
          this.root = ctx;
          ctx.timers.startPeriodic('sweep', every, { type: 'orchestrator.sweep' });
          return undefined;
        },
        receive: (_s: unknown, m: { type?: string }) => {
          // not awaited: stopping a child from inside its parent's turn would wait on that turn
          if (m?.type === 'orchestrator.sweep') void this.sweep();
        },
      },
      supervision: { strategy: 'one-for-one', maxRestarts: 1_000_000, withinMs: 1_000 },
    }, 'system');
    if (!this.root) throw new TroupeError('TROUPE_ERR_NODE_MODULE_START', '/system/orchestrator did not start');
    return this.root;
  }
}

function detached(id: string): TroupeError {
  return new TroupeError('TROUPE_ERR_SESSION_DETACHED', `stopped waiting for session ${id}; it goes on (resume it with x-session-id)`);
}

function notFound(approvalId: string): TroupeError {
  return new TroupeError('TROUPE_ERR_APPROVAL_NOT_FOUND', `no approval ${String(approvalId).slice(0, 200)}`);
}
