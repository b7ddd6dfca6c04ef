import { Role, TaskState, type Message, type Part, type Task } from '@a2a-js/sdk';
import { AgentEvent, ServerCallContext, type AgentExecutor, type ExecutionEventBus, type RequestContext, type User } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError, prefixedId, serializeError, type Clock } from '../../protocol/index.js';
import { NODE_AGENT, type A2AApi, type A2AWorkflows } from '../a2a/index.js';
import { decisionOf } from './a2a-decision.js';
import { ProgressQueue, progressLine } from './a2a-progress.js';
import type { Orchestrator } from './orchestrator.js';
import type { SessionProgress } from './session-messages.js';
import { TERMINAL_SESSION, type ApprovalRecord, type SessionState } from './session-state.js';
import { approvalView } from './views.js';

/** Tasks waiting for input whose session is watched for a decision made elsewhere (HTTP, timeout, MCP). */
const MAX_WATCHED = 10_000;
/** Tasks whose session the executor remembers (for cancel). */
const MAX_KNOWN = 10_000;
/** Times a watcher looks for the input-required status to be stored before it resumes the task. */
const RESUME_POLLS = 200;
/** Progress events that change what the follower must do next (so the session is read again). */
const TURNING = new Set(['approval.requested', 'approval.decided', 'session.finished']);

const text = (value: string): Part => ({ content: { $case: 'text', value }, mediaType: 'text/plain', filename: '', metadata: undefined });
const data = (value: unknown): Part => ({ content: { $case: 'data', value }, mediaType: 'application/json', filename: '', metadata: undefined });
const textOf = (m: Message): string => m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).filter(Boolean).join('\n');
/** The states of a task that waits for a decision. */
const WAITING: ReadonlySet<TaskState> = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);
const isOpen = (a: ApprovalRecord): boolean => a.status === 'pending' || a.status === 'escalated';

/** One task being served: where to publish, and who asked (a watcher resumes the task as them). */
interface Served {
  taskId: string;
  contextId: string;
  bus: ExecutionEventBus;
  user: User | undefined;
  tenant: string | undefined;
  /** Artifacts the task has (node outputs are published once each). */
  artifacts: Set<string>;
}

/** What a watcher needs of a task to resume it as its caller. */
type Watched = Pick<Served, 'taskId' | 'contextId' | 'user' | 'tenant'>;

const callContext = (t: Watched): ServerCallContext => new ServerCallContext({ ...(t.user ? { user: t.user } : {}), ...(t.tenant !== undefined ? { tenant: t.tenant } : {}), requestedVersion: '1.0' });


/**
 * The A2A view of workflows: the node's own agent (`POST /a2a`) hands a complex task (the
 * orchestrator's router decides, or the message's metadata `orchestrate: true | false`, or a
 * data part with a `dag`) to this executor. The task becomes a session; its progress streams
 * as status updates and one artifact per completed node (attributed: `node`, `agent` and
 * `session_id` in the metadata of the status message and of the artifact), then the answer as
 * the `answer` artifact. A session that
 * waits for an approval puts the task in input-required with the approval (text and a data
 * part); a follow-up message on the task is one decision message to the session actor, like
 * `POST /v1/approvals/:id` (first wins). A decision made elsewhere resumes the task too.
 *
 * @example
 * a2a.useWorkflows(new WorkflowTasks(orchestrator, () => host.module<A2AApi>('a2a'), host.clock, log));
 */
export class WorkflowTasks implements A2AWorkflows, AgentExecutor {
  readonly executor: AgentExecutor = this;
  readonly skill = {
    id: 'troupe/orchestrate', name: 'orchestrate a workflow', tags: ['orchestration', 'workflow', 'plan'],
    description: 'Plans a multi-step request into a DAG of the cluster\'s agents, runs it, and streams each agent\'s progress and output; approvals arrive as input-required',
  };

  private readonly watched = new Map<string, () => void>();
  private readonly sessions = new Map<string, string>();
  private readonly following = new Set<{ t: Served; id: string; q: ProgressQueue }>();
  private stopping = false;

  constructor(private readonly orch: Orchestrator, private readonly a2a: () => A2AApi, private readonly clock: Clock, private readonly log: Logger) {}

  async wants(message: Message): Promise<boolean> {
    const meta = (message.metadata ?? {}) as { orchestrate?: unknown };
    if (meta.orchestrate === true || meta.orchestrate === false) return meta.orchestrate;
    if (dagOf(message) !== undefined) return true;
    const d = await this.orch.route({ hasTools: false, hasResponseFormat: false, text: textOf(message).slice(0, 100_000) });
    return d.route === 'complex';
  }

  async execute(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const t: Served = {
      taskId: rc.taskId, contextId: rc.contextId, bus, user: rc.context?.user, tenant: rc.context?.tenant,
      artifacts: new Set((rc.task?.artifacts ?? []).map((a) => a.artifactId)),
    };
    this.unwatch(t.taskId);
    const sessionId = (rc.task?.metadata as { session_id?: unknown } | undefined)?.session_id;
    try {
      if (rc.task && typeof sessionId === 'string') await this.resume(rc, t, rc.task, sessionId);
      else await this.begin(rc, t);
    } catch (e) {
      const s = serializeError(e);
      this.log.warn({ err: e, task: t.taskId }, 'an A2A workflow task failed');
      this.status(t, TaskState.TASK_STATE_FAILED, `${s.code}: ${s.message}`.slice(0, 2_000), { code: s.code });
      bus.finished();
    }
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    this.unwatch(taskId);
    const id = this.sessions.get(taskId);
    if (id !== undefined) await this.orch.cancel(id).catch((e: unknown) => this.log.debug({ err: e, session: id }, 'cancel of a workflow task: the session could not be cancelled'));
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId: '', metadata: undefined, status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: this.now() } }));
  }

  /** A new task: the request becomes a session, followed until it ends or needs a decision. */
  private async begin(rc: RequestContext, t: Served): Promise<void> {
    const task: Task = {
      id: t.taskId, contextId: t.contextId, artifacts: [], history: [rc.userMessage], metadata: { workflow: true },
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: this.now() },
    };
    t.bus.publish(AgentEvent.task(task));
    const q = new ProgressQueue();
    const dag = dagOf(rc.userMessage);
    const request = textOf(rc.userMessage).trim() || 'run the workflow';
    const origin = { a2a_task: t.taskId, context_id: t.contextId, owner: t.user?.userName || 'unknown', tenant: t.tenant ?? '' };
    const id = await this.orch.start(request, { onProgress: q.push, origin, ...(dag !== undefined ? { dag } : {}) });
    this.know(t.taskId, id);
    const s0 = await this.orch.state(id);
    this.status(t, TaskState.TASK_STATE_WORKING, `session ${id}: ${s0.dag.nodes.length} node(s) planned`, { session_id: id, event: 'session.created', nodes: s0.dag.nodes.map((n) => ({ id: n.id, agent: n.agent })) });
    await this.follow(t, id, q);
  }

  /** A follow-up on a task that waits for a decision: the decision goes to the session, then the task follows it again. */
  private async resume(rc: RequestContext, t: Served, task: Task, id: string): Promise<void> {
    this.know(t.taskId, id);
    // an auth-required task keeps its bus (and the stream that started it) open: the updates go on in
    // that task-lifecycle stream, so no second task event (a streamed follow-up is for input-required)
    if (task.status?.state !== TaskState.TASK_STATE_AUTH_REQUIRED) t.bus.publish(AgentEvent.task(task));
    const q = new ProgressQueue();
    const off = this.orch.subscribe(id, q.push);
    try {
      const s = await this.orch.state(id);
      const resumed = (rc.userMessage.metadata as { troupe_resume?: unknown } | undefined)?.troupe_resume;
      if (typeof resumed !== 'string') {
        const wanted = (task.status?.message?.metadata as { approval_id?: unknown } | undefined)?.approval_id;
        const open = Object.values(s.approvals).filter(isOpen).sort((a, b) => Number(b.id === wanted) - Number(a.id === wanted))[0];
        const decision = decisionOf(rc.userMessage);
        if (open && !decision) {
          this.inputRequired(t, id, open, 'No decision could be read from that message. ');
          return;
        }
        if (open && decision) {
          const by = t.user?.isAuthenticated ? t.user.userName.slice(0, 200) : 'a2a';
          try {
            const rec = await this.orch.decide(open.id, decision, { by, source: 'a2a', key: `a2a:${rc.userMessage.messageId}`.slice(0, 255) });
            this.status(t, TaskState.TASK_STATE_WORKING, `approval ${open.id}: ${String(rec['status'])} by ${by}`, { session_id: id, event: 'approval.decided', approval_id: open.id, applied: true });
          } catch (e) {
            if (!(e instanceof TroupeError) || e.status >= 500) throw e;
            // lost to another decision (or not this caller's to make): said, and the task follows the session on
            this.status(t, TaskState.TASK_STATE_WORKING, `${e.code}: ${e.message}`.slice(0, 2_000), { session_id: id, event: 'approval.refused', approval_id: open.id, applied: false, code: e.code, ...(e.details ? { details: e.details } : {}) });
          }
        }
      }
      await this.follow(t, id, q);
    } finally {
      off();
    }
  }

  /** Publish the session's progress until it finishes (the task ends) or needs a decision (input-required). */
  private async follow(t: Served, id: string, q: ProgressQueue): Promise<void> {
    if (this.stopping) return this.interrupted(t, id);
    const entry = { t, id, q };
    this.following.add(entry);
    try {
      for (;;) {
        // the session's state is read after its progress up to now is queued: both agree
        const s = await this.orch.state(id);
        if (this.stopping) return;
        for (const p of q.take()) this.progress(t, p);
        this.outputs(t, s);
        if (TERMINAL_SESSION.has(s.status)) return this.finish(t, s);
        const open = Object.values(s.approvals).find(isOpen);
        if (open) return this.inputRequired(t, id, open);
        let turning = false;
        while (!turning) {
          await q.next();
          if (this.stopping) return;
          for (const p of q.take()) {
            this.progress(t, p);
            if (TURNING.has(p.type)) turning = true;
          }
        }
      }
    } finally {
      q.closed = true;
      this.following.delete(entry);
    }
  }

  /**
   * The node is stopping: the tasks that follow a running session are failed with
   * TROUPE_ERR_A2A_TASK_INTERRUPTED (as the a2a module does with its agents' tasks, so the
   * store says so before the node is gone); their sessions go on at the next start. Watchers
   * are dropped (they are armed again at start).
   */
  stop(): void {
    this.stopping = true;
    for (const off of this.watched.values()) off();
    this.watched.clear();
    for (const { t, id, q } of [...this.following]) {
      this.interrupted(t, id);
      q.close();
    }
    this.following.clear();
  }

  private interrupted(t: Served, id: string): void {
    const code = 'TROUPE_ERR_A2A_TASK_INTERRUPTED';
    this.status(t, TaskState.TASK_STATE_FAILED, `${code}: the node stopped while the task was following session ${id}; the session goes on when the node starts again (GET /v1/sessions/${id})`, { session_id: id, code });
    t.bus.finished();
  }

  /** One progress event, attributed (node, agent) in the status message and its metadata. */
  private progress(t: Served, p: SessionProgress): void {
    const said = progressLine(p);
    if (!said) return; // the end is published from the session's state
    this.status(t, TaskState.TASK_STATE_WORKING, said.line, said.meta);
    if (p.type === 'node.completed') this.artifact(t, p.node, p.agent, p.result);
  }


  /** Completed nodes whose output the task does not have yet (missed while it waited, or over the buffer). */
  private outputs(t: Served, s: SessionState): void {
    for (const n of s.dag.nodes) {
      const st = s.nodes[n.id];
      if (st?.status === 'completed') this.artifact(t, n.id, st.agent ?? n.agent, st.result ?? '');
    }
  }

  private artifact(t: Served, node: string, agent: string, result: string): void {
    const artifactId = `${t.taskId}-node-${node}`;
    if (t.artifacts.has(artifactId)) return;
    t.artifacts.add(artifactId);
    t.bus.publish(AgentEvent.artifactUpdate({
      taskId: t.taskId, contextId: t.contextId, append: false, lastChunk: true, metadata: undefined,
      artifact: { artifactId, name: `node:${node}`, description: `${agent}'s output for ${node}`, parts: [text(result)], metadata: { node, agent }, extensions: [] },
    }));
  }

  private finish(t: Served, s: SessionState): void {
    if (s.status === 'completed') {
      const answer = s.answer ?? '';
      t.bus.publish(AgentEvent.artifactUpdate({
        taskId: t.taskId, contextId: t.contextId, append: false, lastChunk: true, metadata: undefined,
        artifact: { artifactId: `${t.taskId}-answer`, name: 'answer', description: 'the workflow\'s answer', parts: [text(answer)], metadata: { session_id: s.id }, extensions: [] },
      }));
      this.status(t, TaskState.TASK_STATE_COMPLETED, answer, { session_id: s.id, event: 'session.finished' });
    } else if (s.status === 'cancelled') {
      this.status(t, TaskState.TASK_STATE_CANCELED, `session ${s.id} was cancelled`, { session_id: s.id, event: 'session.finished' });
    } else {
      const code = s.error?.code ?? 'TROUPE_ERR_SESSION_NODE_FAILED';
      this.status(t, TaskState.TASK_STATE_FAILED, `${code}: ${s.error?.message ?? 'the workflow failed'}`.slice(0, 2_000), { session_id: s.id, event: 'session.finished', code });
    }
    t.bus.finished();
  }

  /** The task waits for a decision: the approval in its status message; a decision made elsewhere resumes it. */
  private inputRequired(t: Served, id: string, a: ApprovalRecord, prefix = ''): void {
    const said = `${prefix}Approval ${a.id} needed: ${a.action} (node ${a.node}, agent ${a.agent})${a.why ? `: ${a.why}` : ''}. `
      + 'Reply "approve [reason]", "reject [reason]" or "modify <new instruction>", or a data part { decision, reason?, input? }.';
    const meta = { session_id: id, event: 'approval.requested', approval_id: a.id, node: a.node, agent: a.agent };
    // auth-required where the approval says so: the SDK keeps a stream open through it (the decision is out of band)
    const state = a.a2a_state === 'auth-required' ? TaskState.TASK_STATE_AUTH_REQUIRED : TaskState.TASK_STATE_INPUT_REQUIRED;
    const message = this.status(t, state, said.slice(0, 4_000), meta, [data({ approval: approvalView(a) })]);
    this.watch(t, id, a.id, message.messageId);
  }

  private status(t: Served, state: TaskState, line: string, meta: Record<string, unknown>, extra: Part[] = []): Message {
    const message: Message = {
      messageId: prefixedId('msg_'), contextId: t.contextId, taskId: t.taskId, role: Role.ROLE_AGENT, parts: [text(line), ...extra],
      metadata: meta, extensions: [], referenceTaskIds: [],
    };
    // the update's metadata is merged into the task's: only what describes the task (the attribution is the message's)
    const taskMeta = { session_id: meta['session_id'], ...(state === TaskState.TASK_STATE_FAILED && meta['code'] !== undefined ? { code: meta['code'] } : {}) };
    t.bus.publish(AgentEvent.statusUpdate({ taskId: t.taskId, contextId: t.contextId, metadata: taskMeta, status: { state, message, timestamp: this.now() } }));
    return message;
  }

  /**
   * While the task waits, a decision may come another way (HTTP, the timeout, MCP): then the
   * watcher sends the task a resume message of its own, which continues it exactly like a
   * follow-up (the task actor lets one continuation through per interruption, so it and an
   * A2A follow-up never both continue it).
   */
  private watch(t: Watched, id: string, approvalId: string, interruption: string): void {
    const off = this.orch.subscribe(id, (p) => {
      if (!((p.type === 'approval.decided' && p.approval === approvalId) || p.type === 'session.finished')) return;
      this.unwatch(t.taskId);
      void this.resumeTask(t, approvalId, interruption, p.type === 'approval.decided' ? `approval ${approvalId}: ${p.status} by ${p.decided_by} (${p.source})` : `session ${id} finished`)
        .catch((e: unknown) => this.log.debug({ err: e, task: t.taskId }, 'the task was continued another way'));
    });
    this.unwatch(t.taskId);
    this.watched.set(t.taskId, off);
    if (this.watched.size > MAX_WATCHED) this.unwatch(this.watched.keys().next().value as string);
  }

  private unwatch(taskId: string): void {
    const off = this.watched.get(taskId);
    this.watched.delete(taskId);
    off?.();
  }

  private async resumeTask(t: Watched, approvalId: string, interruption: string, said: string): Promise<void> {
    const ep = await this.a2a().endpoint(NODE_AGENT);
    if (!ep) return;
    const ctx = callContext(t);
    // the input-required status is saved by the SDK after it is published: resume only once it is, and only that interruption
    for (let i = 0; i < RESUME_POLLS; i++) {
      const now = await ep.handler.getTask({ tenant: t.tenant ?? '', id: t.taskId }, ctx).catch(() => undefined);
      if (now?.status?.message?.messageId === interruption && WAITING.has(now.status.state)) break;
      // continued already (its follow-up came first): nothing to resume
      if (now && now.status?.message?.messageId !== interruption && now.history.some((m) => m.messageId === interruption)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    const message: Message = {
      messageId: `${t.taskId}.resume.${approvalId}`.slice(0, 256), contextId: t.contextId, taskId: t.taskId, role: Role.ROLE_AGENT,
      parts: [text(said)], metadata: { troupe_resume: approvalId }, extensions: [], referenceTaskIds: [],
    };
    await ep.handler.sendMessage({ tenant: t.tenant ?? '', message, configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true }, metadata: undefined }, ctx);
  }

  /**
   * After a restart: the A2A tasks that wait for a decision on an open session are watched
   * again (a decision made before the restart, whose resume was lost with the process,
   * resumes the task now). Returns how many tasks it took up.
   */
  async rearm(): Promise<number> {
    const ep = await this.a2a().endpoint(NODE_AGENT);
    if (!ep) return 0;
    let n = 0;
    const open = [...this.orch.list({ status: 'waiting_approval', limit: 1_000 }), ...this.orch.list({ status: 'active', limit: 1_000 })];
    for (const v of open) {
      const s = await this.orch.state(String(v['id'])).catch(() => undefined);
      const o = s?.origin;
      if (!s || !o) continue;
      const t: Watched = {
        taskId: o.a2a_task, contextId: o.context_id, tenant: o.tenant === '' ? undefined : o.tenant,
        user: o.owner !== 'unknown' && o.owner !== '' ? { isAuthenticated: true, userName: o.owner } : undefined,
      };
      const task = await ep.handler.getTask({ tenant: o.tenant, id: o.a2a_task }, callContext(t)).catch(() => undefined);
      const status = task?.status;
      const approvalId = (status?.message?.metadata as { approval_id?: unknown } | undefined)?.approval_id;
      if (status === undefined || !WAITING.has(status.state) || typeof approvalId !== 'string' || !status.message) continue;
      const a = s.approvals[approvalId];
      if (!a) continue;
      this.know(t.taskId, s.id);
      if (isOpen(a)) this.watch(t, s.id, approvalId, status.message.messageId);
      else void this.resumeTask(t, approvalId, status.message.messageId, `approval ${approvalId}: ${a.status} by ${a.decided_by ?? 'unknown'} (${a.source ?? 'unknown'})`)
        .catch((e: unknown) => this.log.debug({ err: e, task: t.taskId }, 'the task was continued another way'));
      n++;
    }
    if (n > 0) this.log.info({ tasks: n }, 'A2A workflow tasks waiting for a decision taken up again');
    return n;
  }

  private know(taskId: string, sessionId: string): void {
    this.sessions.delete(taskId);
    this.sessions.set(taskId, sessionId);
    if (this.sessions.size > MAX_KNOWN) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** A ready plan in a data part (`{ dag: {...} }`), validated when the session starts. */
function dagOf(m: Message): unknown {
  for (const p of m.parts) {
    const v = p.content?.$case === 'data' ? (p.content.value as { dag?: unknown } | null) : undefined;
    if (v && typeof v === 'object' && v.dag !== undefined) return v.dag;
  }
  return undefined;
}
