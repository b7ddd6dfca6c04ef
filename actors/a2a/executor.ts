import { Role, TaskState, type Message, type Part, type Task } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { TroupeError, type ChatMessage, type Clock } from '../../protocol/index.js';
import type { RunOptions, RunRequest, RunResult } from '../agent/index.js';

/** What the executor needs: a way to run an agent (the gateway actor's run protocol). */
export interface AgentRunPort {
  run(target: { kind: 'agent'; name: string }, req: RunRequest, opts?: RunOptions): Promise<RunResult>;
}

/** Messages of a task's history given to the agent at most (the newest). */
const MAX_INPUT_MESSAGES = 100;

const text = (value: string): Part => ({ content: { $case: 'text', value }, mediaType: 'text/plain', filename: '', metadata: undefined });

function textOf(m: Message): string {
  return m.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : p.content?.$case === 'data' ? JSON.stringify(p.content.value) : '')).filter(Boolean).join('\n');
}

/**
 * The SDK's `AgentExecutor` for one troupe agent: a task's turn is one agent run through the
 * gateway actor (local or remote agent alike), its streamed text an artifact, its end a
 * terminal status. The input is the task's history (user and agent messages), so a
 * follow-up continues with the whole exchange.
 */
export class AgentTaskExecutor implements AgentExecutor {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly agent: string,
    private readonly runner: () => AgentRunPort,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async execute(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = rc;
    const ts = (): string => new Date(this.clock.now()).toISOString();
    const task: Task = rc.task ?? {
      id: taskId, contextId, artifacts: [], history: [rc.userMessage], metadata: {},
      status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: ts() },
    };
    bus.publish(AgentEvent.task(task));
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: undefined, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: ts() } }));
    const history = (rc.task ? rc.task.history : [rc.userMessage]).slice(-MAX_INPUT_MESSAGES);
    const input: ChatMessage[] = history.map((m) => (m.role === Role.ROLE_AGENT ? { role: 'assistant', content: textOf(m) } : { role: 'user', content: textOf(m) }));
    const abort = new AbortController();
    this.running.set(taskId, abort);
    const artifactId = `${taskId}-answer`;
    let chunks = 0;
    try {
      const result = await this.runner().run({ kind: 'agent', name: this.agent }, { input, stream: true }, {
        signal: abort.signal,
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
      if (chunks === 0 && answer.length > 0) {
        bus.publish(AgentEvent.artifactUpdate({
          taskId, contextId, append: false, lastChunk: true, metadata: undefined,
          artifact: { artifactId, name: 'answer', description: '', parts: [text(answer)], metadata: undefined, extensions: [] },
        }));
      }
      const reply: Message = { messageId: `${taskId}-${this.clock.now()}`, contextId, taskId, role: Role.ROLE_AGENT, parts: [text(answer)], metadata: undefined, extensions: [], referenceTaskIds: [] };
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: undefined, status: { state: TaskState.TASK_STATE_COMPLETED, message: reply, timestamp: ts() } }));
    } catch (e) {
      if (!abort.signal.aborted) {
        const code = e instanceof TroupeError ? e.code : 'TROUPE_ERR_A2A_TASK_FAILED';
        this.log.warn({ err: e, task: taskId, agent: this.agent }, 'A2A task failed');
        const reply: Message = {
          messageId: `${taskId}-failed`, contextId, taskId, role: Role.ROLE_AGENT, parts: [text(`${code}: the agent run failed`)],
          metadata: { code }, extensions: [], referenceTaskIds: [],
        };
        bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: { code }, status: { state: TaskState.TASK_STATE_FAILED, message: reply, timestamp: ts() } }));
      }
    } finally {
      this.running.delete(taskId);
      bus.finished();
    }
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    this.running.get(taskId)?.abort();
    bus.publish(AgentEvent.statusUpdate({
      taskId, contextId: '', metadata: undefined,
      status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date(this.clock.now()).toISOString() },
    }));
  }
}
