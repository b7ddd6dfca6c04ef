import { TroupeError } from '../../protocol/index.js';
import type { Behaviour, Context } from '../kernel/index.js';
import { conditionHolds, type Dag, type DagNode } from './dag.js';
import { graphOf } from './graph.js';
import { sessionMessageSchema, type SessionMessage } from './session-messages.js';
import { TERMINAL_SESSION, applySessionEvent, emptySession, madeEvent, type ApprovalRecord, type NodeError, type SessionEvent, type SessionState } from './session-state.js';
import { approvalIdOf, approvalRecordOf, decide } from './session-approvals.js';
import { revisionProblems, type ReviseRequest } from './session-revision.js';
import { Frontier } from './session-frontier.js';
import { asError, clampDelay, type Live, type SessionDeps } from './session-deps.js';

export type { SessionDeps } from './session-deps.js';

/** Requests that may wait for one session with double texting `enqueue`. */
const MAX_ATTACHED = 32;

/**
 * One persistent actor per workflow (`/system/orchestrator/<session id>`, journal key
 * `session/<id>`): it holds the DAG, node states, results and approvals as the fold of its
 * journal. Nodes start as soon as their inputs are ready, up to `maxParallel` at once; each
 * attempt has a timeout and failed attempts are retried with backoff on the node's clock.
 * A completed node is journaled before anything depends on it, so after a restart it never
 * runs again; a node that was running is started again. Its mailbox serializes every
 * request, decision and timer: no locks.
 */
export function sessionBehaviour(id: string, deps: SessionDeps): Behaviour<SessionState, SessionMessage, SessionEvent> {
  let live: Live = { inflight: new Map(), armed: false, revising: 0, attached: [] };
  return {
    messages: sessionMessageSchema,
    initial: (ctx) => {
      live = { inflight: new Map(), armed: false, revising: 0, attached: [] };
      ctx.tell(ctx.self, { type: 'session.kick' });
      return emptySession(id);
    },
    persistence: { key: `session/${id}`, apply: applySessionEvent, snapshotEvery: 500 },
    receive: async (s, m, ctx) => {
      if (m.type === 'session.idle') {
        if (TERMINAL_SESSION.has(s.status) && live.attached.length === 0) ctx.stop();
        return;
      }
      // a finished session keeps its actor only while it is asked about
      if (TERMINAL_SESSION.has(s.status)) ctx.timers.startSingle('idle', clampDelay(deps.passivateAfterMs), { type: 'session.idle' });
      try {
        await handle(s, m, ctx);
      } catch (e) {
        // a refusal (unknown approval, conflict, busy) is the asker's answer, not a crash
        if (e instanceof TroupeError && e.status < 500 && ctx.expectsReply) ctx.replyError(e);
        else throw e;
      }
    },
  };

  async function handle(s: SessionState, m: SessionMessage, ctx: Context<SessionMessage>): Promise<void> {
    const persist = (e: SessionEvent): Promise<void> => {
      const done = ctx.persist(madeEvent(e));
      done.catch(() => undefined); // a failed commit crashes the actor (the supervisor recovers it)
      return done;
    };
    switch (m.type) {
      case 'session.create': {
        if (s.created) {
          ctx.reply(s.id);
          return;
        }
        await persist({ type: 'session.created', at: deps.clock.now(), request: m.request, dag: m.dag, ttl_ms: m.ttlMs, ...(m.origin ? { origin: m.origin } : {}) });
        deps.changed(s);
        ctx.reply(s.id);
        break;
      }
      case 'session.get':
        ctx.reply(structuredClone(s));
        return;
      case 'session.attach':
        if (!s.created) throw new TroupeError('TROUPE_ERR_SESSION_NOT_FOUND', `no session ${id}`);
        if (TERMINAL_SESSION.has(s.status) || s.status === 'waiting_approval') {
          ctx.reply(structuredClone(s));
          return;
        }
        live.attached = live.attached.filter((a) => a.token !== m.token);
        if (live.attached.length >= (deps.doubleTexting === 'enqueue' ? MAX_ATTACHED : 1)) {
          throw new TroupeError('TROUPE_ERR_SESSION_BUSY', `session ${id} is busy: ${live.attached.length} request(s) already wait for it`);
        }
        live.attached.push({ token: m.token, reply: ctx.replier().reply });
        return;
      case 'session.detach':
        live.attached = live.attached.filter((a) => a.token !== m.token);
        return;
      case 'session.cancel':
        if (!s.created) throw new TroupeError('TROUPE_ERR_SESSION_NOT_FOUND', `no session ${id}`);
        if (TERMINAL_SESSION.has(s.status)) throw new TroupeError('TROUPE_ERR_SESSION_FINISHED', `session ${id} is already ${s.status}`);
        await finish(s, ctx, persist, 'cancelled', undefined, { code: 'TROUPE_ERR_SESSION_CANCELLED', message: 'the session was cancelled' });
        deps.changed(s);
        answerAttached(s);
        ctx.reply(structuredClone(s));
        return;
      case 'session.decide': {
        if (!s.created) throw new TroupeError('TROUPE_ERR_SESSION_NOT_FOUND', `no session ${id}`);
        const out = decide(s, m, deps.clock.now());
        if (out.event) {
          if (TERMINAL_SESSION.has(s.status)) throw new TroupeError('TROUPE_ERR_SESSION_FINISHED', `session ${id} is already ${s.status}`);
          await persist(out.event);
          ctx.timers.cancel(`a:${out.record.node}`);
          decidedNow(s.approvals[out.record.id]!);
        }
        ctx.reply(structuredClone(s.approvals[out.record.id]));
        break;
      }
      case 'approval.expire': {
        const a = s.approvals[m.approvalId];
        if (!a || a.status !== 'pending' || TERMINAL_SESSION.has(s.status)) return;
        const now = deps.clock.now();
        if (now < a.expires_at) {
          ctx.timers.startSingle(`a:${a.node}`, clampDelay(a.expires_at - now), m);
          return;
        }
        const status = a.auto_action === 'approve' ? 'approved' : a.auto_action === 'reject' ? 'rejected' : 'escalated';
        await persist({
          type: 'approval.decided', at: now, id: a.id, status, decided_by: 'timeout', source: 'timeout',
          ...(a.auto_action === 'escalate' ? {} : { decision: a.auto_action }), reason: `no decision within ${a.expires_at - a.created_at}ms: auto_action ${a.auto_action}`,
        });
        decidedNow(s.approvals[a.id]!);
        break;
      }
      case 'node.done': {
        const f = live.inflight.get(m.node);
        if (!f || f.attempt !== m.attempt || TERMINAL_SESSION.has(s.status)) return; // a stale attempt
        live.inflight.delete(m.node);
        ctx.timers.cancel(`t:${m.node}`);
        const result = m.content.length > deps.maxResultChars ? m.content.slice(0, deps.maxResultChars) : m.content;
        void persist({ type: 'node.completed', at: deps.clock.now(), node: m.node, result, ...(m.ranOn !== undefined ? { ran_on: m.ranOn } : {}) });
        settled(m.node);
        deps.progress({ type: 'node.completed', session: id, node: m.node, agent: s.nodes[m.node]?.agent ?? '', result, at: deps.clock.now() });
        askRevision(s, ctx, m.node);
        break;
      }
      case 'session.revise':
        live.revising = Math.max(0, live.revising - 1);
        if (m.error !== undefined) ctx.log.warn({ after: m.node, error: m.error }, 'the planner could not revise the DAG; it runs as planned');
        else if (m.dag && !TERMINAL_SESSION.has(s.status)) await revise(s, persist, m.node, m.dag, ctx);
        break;
      case 'node.error':
      case 'node.timeout': {
        const f = live.inflight.get(m.node);
        if (!f || f.attempt !== m.attempt || TERMINAL_SESSION.has(s.status)) return;
        live.inflight.delete(m.node);
        ctx.timers.cancel(`t:${m.node}`);
        const timeoutMs = timeoutOf(m.node);
        const error = m.type === 'node.error' ? m.error : { code: 'TROUPE_ERR_SESSION_NODE_TIMEOUT', message: `node ${m.node} attempt ${m.attempt} ran past ${timeoutMs}ms` };
        if (m.type === 'node.timeout') f.abort.abort(new TroupeError('TROUPE_ERR_SESSION_NODE_TIMEOUT', error.message));
        await failed(s, ctx, persist, m.node, error);
        break;
      }
      case 'node.task': {
        // the task id of the attempt still running (a stale attempt's is not the node's any more)
        const n = s.nodes[m.node];
        if (!n || n.status !== 'running' || n.attempts !== m.attempt || !live.inflight.has(m.node)) return;
        await persist({ type: 'node.task', at: deps.clock.now(), node: m.node, attempt: m.attempt, task_id: m.taskId });
        deps.progress({ type: 'node.task', session: id, node: m.node, agent: n.agent ?? '', attempt: m.attempt, task: m.taskId, at: deps.clock.now() });
        return;
      }
      case 'node.retry':
      case 'session.kick':
        break;
    }
    await step(s, ctx, persist);
    deps.changed(s);
    answerAttached(s);
    if (TERMINAL_SESSION.has(s.status)) ctx.timers.startSingle('idle', clampDelay(deps.passivateAfterMs), { type: 'session.idle' });
  }

  /** A decision was journaled: the audit log, and the session's followers (an A2A task waiting on it). */
  function decidedNow(a: ApprovalRecord): void {
    deps.decided?.(a);
    deps.progress({ type: 'approval.decided', session: id, node: a.node, approval: a.id, status: a.status, decided_by: a.decided_by ?? '', source: a.source ?? '', at: deps.clock.now() });
  }

  function nodeOf(s: SessionState, nodeId: string): DagNode {
    if (!live.byId) live.byId = new Map(s.dag.nodes.map((n) => [n.id, n]));
    return live.byId.get(nodeId)!;
  }

  function timeoutOf(nodeId: string): number {
    return live.byId?.get(nodeId)?.timeout_ms ?? deps.nodeTimeoutMs;
  }

  /** Ask the planner whether the rest of the DAG should change, now that `nodeId` completed. */
  function askRevision(s: SessionState, ctx: Context<SessionMessage>, nodeId: string): void {
    if (!deps.revise) return;
    const states: ReviseRequest['states'] = {};
    for (const [k, v] of Object.entries(s.nodes)) states[k] = v.result !== undefined ? { status: v.status, result: v.result } : { status: v.status };
    live.revising++;
    let p: Promise<Dag | undefined>;
    try {
      p = deps.revise({ sessionId: id, request: s.request, dag: structuredClone(s.dag), states, completed: nodeId });
    } catch (e) {
      p = Promise.reject(e);
    }
    ctx.pipeToSelf(p, (dag) => ({ type: 'session.revise', node: nodeId, ...(dag ? { dag } : {}) }), (e) => ({ type: 'session.revise', node: nodeId, error: String((e as Error)?.message ?? e).slice(0, 2_000) }));
  }

  /** Journal a revision that rewrites only what has not started; the frontier is rebuilt from it. */
  async function revise(s: SessionState, persist: (e: SessionEvent) => Promise<void>, after: string, dag: Dag, ctx: Context<SessionMessage>): Promise<void> {
    const problems = revisionProblems(s, dag);
    if (problems.length > 0) {
      ctx.log.warn({ after, problems: problems.slice(0, 10) }, 'a DAG revision would rewrite nodes that ran; ignored');
      return;
    }
    const before = new Set(s.dag.nodes.map((n) => n.id));
    const now = new Set(dag.nodes.map((n) => n.id));
    await persist({ type: 'dag.revised', at: deps.clock.now(), after, dag });
    delete live.graph;
    delete live.byId;
    delete live.frontier;
    deps.progress({ type: 'dag.revised', session: id, after, added: [...now].filter((x) => !before.has(x)), removed: [...before].filter((x) => !now.has(x)), at: deps.clock.now() });
  }

  /** A node completed, failed or was skipped (see {@link Frontier}). */
  function settled(nodeId: string): void {
    live.frontier?.settle(nodeId);
  }

  function answerAttached(s: SessionState): void {
    if (live.attached.length === 0) return;
    if (!TERMINAL_SESSION.has(s.status) && s.status !== 'waiting_approval') return;
    for (const a of live.attached) a.reply(structuredClone(s));
    live.attached = [];
  }

  /** A failed attempt: retry with backoff, else the node fails (and with policy `fail`, the session). */
  async function failed(s: SessionState, ctx: Context<SessionMessage>, persist: (e: SessionEvent) => Promise<void>, nodeId: string, error: NodeError): Promise<void> {
    const n = s.nodes[nodeId]!;
    const node = nodeOf(s, nodeId);
    const retries = node.retries ?? deps.nodeRetries;
    const now = deps.clock.now();
    if (n.failures < retries) {
      const delay = Math.min(deps.retryBackoffMaxMs, deps.retryBackoffMs * 2 ** n.failures);
      await persist({ type: 'node.attempt_failed', at: now, node: nodeId, error, retry_at: now + delay });
      ctx.timers.startSingle(`r:${nodeId}`, clampDelay(delay), { type: 'node.retry', node: nodeId });
      return;
    }
    await persist({ type: 'node.failed', at: now, node: nodeId, error });
    settled(nodeId);
    deps.progress({ type: 'node.failed', session: id, node: nodeId, agent: n.agent ?? node.agent, error: error.message, at: now });
    if (s.dag.on_failure === 'fail') {
      await finish(s, ctx, persist, 'failed', undefined, { code: 'TROUPE_ERR_SESSION_NODE_FAILED', message: `node ${nodeId} failed: ${error.code}: ${error.message}`.slice(0, 2_000) });
    }
  }

  async function finish(s: SessionState, ctx: Context<SessionMessage>, persist: (e: SessionEvent) => Promise<void>, status: 'completed' | 'failed' | 'cancelled', answer?: string, error?: NodeError): Promise<void> {
    for (const [nodeId, f] of live.inflight) {
      f.abort.abort(new TroupeError('TROUPE_ERR_SESSION_CANCELLED', `session ${id} ${status}`));
      ctx.timers.cancel(`t:${nodeId}`);
    }
    live.inflight.clear();
    ctx.timers.cancelAll();
    await persist({ type: 'session.finished', at: deps.clock.now(), status, ...(answer !== undefined ? { answer } : {}), ...(error ? { error } : {}) });
    deps.progress({ type: 'session.finished', session: id, status, at: deps.clock.now() });
  }

  /** Start what is ready, skip what cannot run, ask for approvals, and finish when all is done. */
  async function step(s: SessionState, ctx: Context<SessionMessage>, persist: (e: SessionEvent) => Promise<void>): Promise<void> {
    if (!s.created || TERMINAL_SESSION.has(s.status)) return;
    const now = deps.clock.now();
    if (s.expires_at <= now) return; // abandoned past its TTL: the sweep takes it, nothing more runs
    const g = (live.graph ??= graphOf(s.dag));
    if (!live.armed) {
      live.armed = true;
      for (const a of Object.values(s.approvals)) {
        if (a.status === 'pending') ctx.timers.startSingle(`a:${a.node}`, clampDelay(a.expires_at - now), { type: 'approval.expire', approvalId: a.id });
      }
    }
    // while the planner may revise the rest, nothing new starts (what runs goes on)
    if (live.revising > 0) return;
    const f = (live.frontier ??= new Frontier(s, g));
    // a Set visits what is added while it is iterated: skips cascade in one pass
    for (const nodeId of f.ready) {
      const n = s.nodes[nodeId]!;
      if (n.status === 'running' && live.inflight.has(nodeId)) continue;
      if (n.status === 'pending' && n.retry_at !== undefined && n.retry_at > now) {
        if (!ctx.timers.isActive(`r:${nodeId}`)) ctx.timers.startSingle(`r:${nodeId}`, clampDelay(n.retry_at - now), { type: 'node.retry', node: nodeId });
        continue;
      }
      const node = nodeOf(s, nodeId);
      const preds = g.preds.get(nodeId)!;
      let usable = preds.length === 0;
      for (const p of preds) if (s.nodes[p]!.status === 'completed') usable = true;
      const skip = async (reason: string): Promise<void> => {
        await persist({ type: 'node.skipped', at: now, node: nodeId, reason });
        settled(nodeId);
        deps.progress({ type: 'node.skipped', session: id, node: nodeId, reason, at: now });
      };
      if (!usable) {
        await skip('no upstream node completed');
        continue;
      }
      if (node.condition) {
        const c = s.nodes[node.condition.node];
        if (!c || c.status !== 'completed' || !conditionHolds(node.condition, c.result ?? '')) {
          await skip(`condition ${node.condition.op} ${JSON.stringify(node.condition.value)} on ${node.condition.node} does not hold`);
          continue;
        }
      }
      let instruction = node.instruction;
      if (node.approval) {
        const a = s.approvals[approvalIdOf(id, nodeId)];
        if (!a) {
          await requestApproval(s, ctx, persist, node, now);
          continue;
        }
        if (a.status === 'pending' || a.status === 'escalated') continue;
        if (a.status === 'rejected') {
          await skip(`approval ${a.id} rejected${a.reason ? `: ${a.reason}` : ''}`.slice(0, 500));
          continue;
        }
        if (a.status === 'modified' && a.input !== undefined) instruction = a.input;
      }
      // full: the next completion steps again (nodes after this one wait for it)
      if (live.inflight.size >= deps.maxParallel) break;
      launch(s, ctx, persist, node, instruction, now);
    }
    if (f.open === 0) await complete(s, ctx, persist);
  }

  async function requestApproval(s: SessionState, ctx: Context<SessionMessage>, persist: (e: SessionEvent) => Promise<void>, node: DagNode, now: number): Promise<void> {
    const approval = approvalRecordOf(id, node, now);
    await persist({ type: 'approval.requested', at: now, approval });
    ctx.timers.startSingle(`a:${node.id}`, clampDelay(approval.expires_at - now), { type: 'approval.expire', approvalId: approval.id });
    deps.progress({ type: 'approval.requested', session: id, node: node.id, approval: approval.id, at: now });
  }

  function launch(s: SessionState, ctx: Context<SessionMessage>, persist: (e: SessionEvent) => Promise<void>, node: DagNode, instruction: string, now: number): void {
    const n = s.nodes[node.id]!;
    const retries = node.retries ?? deps.nodeRetries;
    // the last allowed attempt goes to the fallback agent, when there is one
    const agent = node.fallback_agent !== undefined && n.failures >= retries && retries > 0 ? node.fallback_agent : node.agent;
    const attempt = n.attempts + 1;
    void persist({ type: 'node.started', at: now, node: node.id, attempt, agent });
    const abort = new AbortController();
    live.inflight.set(node.id, { attempt, abort });
    const timeoutMs = node.timeout_ms ?? deps.nodeTimeoutMs;
    ctx.timers.startSingle(`t:${node.id}`, clampDelay(timeoutMs), { type: 'node.timeout', node: node.id, attempt });
    deps.progress({ type: 'node.started', session: id, node: node.id, agent, attempt, at: now });
    let prompt = instruction;
    for (const i of node.inputs) prompt += `\n\n[output of ${i}]\n${s.nodes[i]?.result ?? ''}`;
    let run: Promise<{ content: string; ranOn?: string }>;
    try {
      const onTask = (taskId: string): void => ctx.tell(ctx.self, { type: 'node.task', node: node.id, attempt, taskId: String(taskId).slice(0, 256) });
      run = deps.runner().run({ sessionId: id, node: node.id, agent, prompt, attempt, signal: abort.signal, timeoutMs, onTask });
    } catch (e) {
      run = Promise.reject(e);
    }
    ctx.pipeToSelf(run, (r) => ({ type: 'node.done', node: node.id, attempt, content: String(r.content), ...(typeof r.ranOn === 'string' ? { ranOn: r.ranOn.slice(0, 128) } : {}) }), (e) => ({ type: 'node.error', node: node.id, attempt, error: asError(e) }));
  }

  async function complete(s: SessionState, ctx: Context<SessionMessage>, persist: (e: SessionEvent) => Promise<void>): Promise<void> {
    const failedNode = s.dag.nodes.find((n) => s.nodes[n.id]!.status === 'failed');
    if (failedNode && s.dag.on_failure === 'fail') return; // finished as failed already
    let answer: string;
    if (s.dag.output !== undefined) answer = s.nodes[s.dag.output]?.result ?? '';
    else {
      const g = live.graph!;
      answer = s.dag.nodes.filter((n) => g.succs.get(n.id)!.length === 0 && s.nodes[n.id]!.status === 'completed').map((n) => s.nodes[n.id]!.result ?? '').join('\n\n');
    }
    await finish(s, ctx, persist, 'completed', answer);
  }
}
