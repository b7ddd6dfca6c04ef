import { Role, TaskState, type Message, type Part, type Task } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError, within, type ChatMessage, type Clock, type ToolSpec } from '../../protocol/index.js';
import type { RunOptions, RunRequest, RunResult } from '../agent/index.js';
import { RECORDED, STREAMED } from './follow-ups.js';
import { WRITTEN } from './sdk-task-store.js';

/** What the executor needs: a way to run an agent (the gateway actor's run protocol) and to cancel a run. */
export interface AgentRunPort {
  run(target: { kind: 'agent'; name: string }, req: RunRequest, opts?: RunOptions): Promise<RunResult>;
  /** Cancel the run with this id: it fails with `error`, and the agent aborts it. */
  cancel(runId: string, error?: unknown): void;
  /** A new run id (given to {@link AgentRunPort.run} so the run can be cancelled by it). */
  newRunId(): string;
}

/** Why a turn was stopped: a node stop fails its task with a coded reason, a cancel publishes CANCELED. */
const INTERRUPTED = 'node-stopping';
const CANCELLED = 'cancelled';

/**
 * A turn in flight: its run's id, so a cancel or a node stop can end it (no AbortController
 * per turn: an AbortSignal is an EventTarget, costly to make for every send).
 */
interface Turn {
  readonly runId: string;
  stopped?: typeof INTERRUPTED | typeof CANCELLED;
}

/** Messages of a task's history given to the agent at most (the newest). */
const MAX_INPUT_MESSAGES = 100;

export const text = (value: string): Part => ({ content: { $case: 'text', value }, mediaType: 'text/plain', filename: '', metadata: undefined });

/**
 * The tool an agent calls to ask the A2A client for more: the run ends there and the task
 * waits in input-required with the question as its status message, until a follow-up
 * message on the task answers it.
 */
export const REQUEST_INPUT_TOOL: ToolSpec = {
  name: 'request_input',
  description: 'Ask the client for information you need to go on. The task waits until the client answers; the answer arrives as the next user message.',
  parameters: { type: 'object', properties: { question: { type: 'string', description: 'what you need to know' } }, required: ['question'] },
};

function questionOf(args: string): string {
  try {
    const v = JSON.parse(args) as { question?: unknown };
    return typeof v?.question === 'string' ? v.question.slice(0, 4_000) : '';
  } catch {
    return '';
  }
}

/** The request_input call asks for authorization rather than input. */
function authAsked(args: string): boolean {
  try {
    return (JSON.parse(args) as { state?: unknown })?.state === 'auth-required';
  } catch {
    return false;
  }
}

/** How long a recorded call's turn waits for its task's first save (a save's own ask gives up after 10 s). */
const WRITTEN_WAIT_MS = 15_000;

export function textOf(m: Message): string {
  return m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : p.content?.$case === 'data' ? JSON.stringify(p.content.value) : '')).filter(Boolean).join('\n');
}

/**
 * The SDK's `AgentExecutor` for one troupe agent: a task's turn is one agent run through the
 * gateway actor (local or remote agent alike), its streamed text an artifact, its end a
 * terminal status. The input is the task's history (user and agent messages), so a
 * follow-up continues with the whole exchange.
 */
export class AgentTaskExecutor implements AgentExecutor {
  private readonly running = new Map<string, Turn>();
  private readonly turns = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly agent: string,
    private readonly runner: () => AgentRunPort,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Offer the agent the `request_input` tool (its call makes the task input-required). */
    private readonly inputTool = true,
    /** The node is closing (a run that fails then was cut by the stop, not by the agent). */
    private readonly closing: () => boolean = () => false,
  ) {}

  execute(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const turn = this.turn(rc, bus);
    this.turns.add(turn);
    const done = (): void => void this.turns.delete(turn);
    turn.then(done, done);
    return turn;
  }

  /**
   * The node is stopping: every running turn is aborted and its task failed with
   * TROUPE_ERR_A2A_TASK_INTERRUPTED (so the store says so before the node is gone); resolves
   * when the turns have ended. New turns fail the same way at once.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.running.values()) this.end(t, INTERRUPTED);
    await Promise.allSettled([...this.turns]);
  }

  /** Stop a turn's run (once): it fails with TROUPE_ERR_AGENT_CANCELLED and the agent aborts it. */
  private end(t: Turn, why: NonNullable<Turn['stopped']>): void {
    if (t.stopped !== undefined) return;
    t.stopped = why;
    this.runner().cancel(t.runId, new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled by the caller'));
  }

  private async turn(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = rc;
    const ts = (): string => new Date(this.clock.now()).toISOString();
    const task: Task = rc.task ?? {
      id: taskId, contextId, artifacts: [], history: [rc.userMessage], metadata: { agent: this.agent },
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: ts() },
    };
    // a call another node recorded (see the home actor) finds its task after a restart of this
    // node: the task is written before its agent runs
    const state = rc.context?.state;
    const written = !rc.task && state?.get(RECORDED) === true ? new Promise<void>((r) => state.set(WRITTEN, r)) : undefined;
    bus.publish(AgentEvent.task(task));
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: undefined, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: ts() } }));
    if (written) await within(this.clock, WRITTEN_WAIT_MS, written);
    const history = (rc.task ? rc.task.history : [rc.userMessage]).slice(-MAX_INPUT_MESSAGES);
    if (history[history.length - 1]?.messageId !== rc.userMessage.messageId) history.push(rc.userMessage);
    const input: ChatMessage[] = history.map((m) => (m.role === Role.ROLE_AGENT ? { role: 'assistant', content: textOf(m) } : { role: 'user', content: textOf(m) }));
    const turn = history.length;
    const agentMessage = (kind: string, body: string, metadata?: Record<string, unknown>): Message => ({
      messageId: `${taskId}-${kind}-${turn}`, contextId, taskId, role: Role.ROLE_AGENT, parts: [text(body)], metadata, extensions: [], referenceTaskIds: [],
    });
    const runner = this.runner();
    const t: Turn = { runId: runner.newRunId() };
    this.running.set(taskId, t);
    if (this.stopping) t.stopped = INTERRUPTED;
    const artifactId = `${taskId}-answer-${turn}`;
    let chunks = 0;
    try {
      // a caller that follows the events gets the answer in chunks; a blocking one at the end
      const stream = rc.context?.state.get(STREAMED) !== false;
      if (t.stopped !== undefined) throw new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'run cancelled before it started');
      const result = await runner.run({ kind: 'agent', name: this.agent }, { input, stream, ...(this.inputTool ? { clientTools: [REQUEST_INPUT_TOOL] } : {}) }, {
        runId: t.runId,
        correlationId: taskId,
        onDelta: (d) => {
          if (d.type !== 'content' || d.text.length === 0) return;
          bus.publish(AgentEvent.artifactUpdate({
            taskId, contextId, append: chunks++ > 0, lastChunk: false, metadata: undefined,
            artifact: { artifactId, name: 'answer', description: '', parts: [text(d.text)], metadata: undefined, extensions: [] },
          }));
        },
      });
      const answer = result.content ?? '';
      const ask = result.toolCalls.find((c) => c.name === REQUEST_INPUT_TOOL.name);
      if (ask) {
        // the agent needs more from the client: the task waits; a follow-up message resumes it
        const question = questionOf(ask.arguments) || answer || 'more input is needed';
        // a proxy of a remote agent that waits for authorization says so (`state: 'auth-required'`)
        const state = authAsked(ask.arguments) ? TaskState.TASK_STATE_AUTH_REQUIRED : TaskState.TASK_STATE_INPUT_REQUIRED;
        bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: undefined, status: { state, message: agentMessage('input', question), timestamp: ts() } }));
        return;
      }
      if (chunks === 0 && answer.length > 0) {
        bus.publish(AgentEvent.artifactUpdate({
          taskId, contextId, append: false, lastChunk: true, metadata: undefined,
          artifact: { artifactId, name: 'answer', description: '', parts: [text(answer)], metadata: undefined, extensions: [] },
        }));
      }
      // where the agent ran (this node or another): the orchestrator shows it per workflow node
      const ranOn = result.trace?.chain.find((h) => h.kind === 'agent')?.node;
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: ranOn !== undefined ? { ranOn } : undefined, status: { state: TaskState.TASK_STATE_COMPLETED, message: agentMessage('reply', answer), timestamp: ts() } }));
    } catch (e) {
      // a cancel publishes CANCELED itself; a stop of the node fails the task with its reason
      if (t.stopped !== CANCELLED) {
        const err = t.stopped === INTERRUPTED || this.closing()
          ? new TroupeError('TROUPE_ERR_A2A_TASK_INTERRUPTED', 'the node stopped while the task was working')
          : e instanceof TroupeError ? e : new TroupeError('TROUPE_ERR_A2A_TASK_FAILED', `the run of agent ${this.agent} failed`, { cause: e });
        this.log.warn({ err: e, task: taskId, agent: this.agent, code: err.code }, 'A2A task failed');
        bus.publish(AgentEvent.statusUpdate({
          taskId, contextId, metadata: { code: err.code },
          status: { state: TaskState.TASK_STATE_FAILED, message: agentMessage('failed', `${err.code}: ${err.message}`.slice(0, 2_000), { code: err.code }), timestamp: ts() },
        }));
      }
    } finally {
      this.running.delete(taskId);
      bus.finished();
    }
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    const t = this.running.get(taskId);
    if (t) this.end(t, CANCELLED);
    bus.publish(AgentEvent.statusUpdate({
      taskId, contextId: '', metadata: undefined,
      status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date(this.clock.now()).toISOString() },
    }));
  }
}
