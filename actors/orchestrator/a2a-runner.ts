import { Role, TaskState, type Message, type Part, type SendMessageRequest, type StreamResponse } from '@a2a-js/sdk';
import { ServerCallContext, type User } from '@a2a-js/sdk/server';
import { TroupeError } from '../../protocol/index.js';
import type { A2AApi } from '../a2a/index.js';
import type { NodeOutput, NodeRunner, NodeTask } from './runner.js';

/**
 * The owner of the A2A tasks the orchestrator makes for workflow nodes: tasks are scoped by
 * owner, so a node's task is the orchestrator's, not a caller's (the session shows its id).
 */
export const ORCHESTRATOR_A2A_USER: User = Object.freeze({ isAuthenticated: true, userName: 'troupe:orchestrator' });

/** Characters of one node's answer taken from its task's artifacts at most. */
const MAX_ANSWER_CHARS = 10_000_000;

const textPart = (value: string): Part => ({ content: { $case: 'text', value }, mediaType: 'text/plain', filename: '', metadata: undefined });
const textOfParts = (parts: readonly Part[]): string => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : p.content?.$case === 'data' ? JSON.stringify(p.content.value) : '')).join('');

/**
 * Workflow nodes as A2A tasks: each attempt is one `SendStreamingMessage` to the agent's
 * endpoint in the a2a module (the SDK's request handler over the node's task actors, so the
 * agent may be on this node or another of the cluster). The task's id is handed to the
 * session as soon as the task exists (`onTask`, journaled), its context is the session, and
 * the answer is the text of its artifacts. The attempt's signal cancels the task
 * (`CancelTask`); a task that fails, is cancelled or asks for input fails the attempt.
 *
 * @example
 * const runner = new A2ANodeRunner(() => host.module<A2AApi>('a2a'));
 */
export class A2ANodeRunner implements NodeRunner {
  constructor(private readonly a2a: () => A2AApi) {}

  async run(task: NodeTask): Promise<NodeOutput> {
    const ep = await this.a2a().endpoint(task.agent);
    if (!ep) throw new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', `no agent named ${task.agent} runs in the cluster`);
    const ctx = new ServerCallContext({ user: ORCHESTRATOR_A2A_USER, requestedVersion: '1.0' });
    const message: Message = {
      messageId: `${task.sessionId}.${task.node}.${task.attempt}`, contextId: task.sessionId, taskId: '', role: Role.ROLE_USER,
      parts: [textPart(task.prompt)], metadata: { session_id: task.sessionId, node: task.node, attempt: task.attempt }, extensions: [], referenceTaskIds: [],
    };
    const params: SendMessageRequest = { tenant: '', message, configuration: undefined, metadata: undefined };
    let taskId: string | undefined;
    let cancelled: Promise<unknown> | undefined;
    const cancel = (): void => {
      if (taskId === undefined || cancelled) return;
      cancelled = ep.handler.cancelTask({ tenant: '', id: taskId, metadata: undefined }, ctx).catch(() => undefined);
    };
    task.signal.addEventListener('abort', cancel, { once: true });
    const artifacts = new Map<string, string>();
    let last: StreamResponse | undefined;
    try {
      for await (const ev of ep.handler.sendMessageStream(params, ctx)) {
        last = ev;
        const p = ev.payload;
        if (!p) continue;
        if (taskId === undefined && (p.$case === 'task' || p.$case === 'statusUpdate' || p.$case === 'artifactUpdate')) {
          taskId = p.$case === 'task' ? p.value.id : p.value.taskId;
          task.onTask?.(taskId);
          if (task.signal.aborted) cancel();
        }
        if (p.$case === 'artifactUpdate' && p.value.artifact) {
          const a = p.value.artifact;
          const before = p.value.append ? (artifacts.get(a.artifactId) ?? '') : '';
          artifacts.set(a.artifactId, (before + textOfParts(a.parts)).slice(0, MAX_ANSWER_CHARS));
        }
      }
    } finally {
      task.signal.removeEventListener('abort', cancel);
    }
    if (task.signal.aborted) throw task.signal.reason ?? new TroupeError('TROUPE_ERR_SESSION_CANCELLED', 'the attempt was cancelled');
    const p = last?.payload;
    if (p?.$case === 'message') return { content: textOfParts(p.value.parts) };
    const status = p?.$case === 'statusUpdate' ? p.value.status : p?.$case === 'task' ? p.value.status : undefined;
    const said = status?.message ? textOfParts(status.message.parts) : '';
    switch (status?.state) {
      case TaskState.TASK_STATE_COMPLETED:
      {
        const ranOn = p?.$case === 'statusUpdate' ? (p.value.metadata as { ranOn?: unknown } | undefined)?.ranOn : undefined;
        return { content: artifacts.size > 0 ? [...artifacts.values()].join('') : said, ...(typeof ranOn === 'string' ? { ranOn } : {}) };
      }
      case TaskState.TASK_STATE_INPUT_REQUIRED:
      case TaskState.TASK_STATE_AUTH_REQUIRED:
        // a DAG node has no one to answer: the task is cancelled and the attempt fails
        cancel();
        await cancelled;
        throw new TroupeError('TROUPE_ERR_SESSION_NODE_INPUT_REQUIRED', `the A2A task ${taskId ?? ''} of agent ${task.agent} asked for input: ${said}`.slice(0, 2_000));
      default:
        throw new TroupeError('TROUPE_ERR_A2A_TASK_FAILED', `the A2A task ${taskId ?? ''} of agent ${task.agent} ended ${stateName(status?.state)}: ${said}`.slice(0, 2_000));
    }
  }
}

function stateName(state: TaskState | undefined): string {
  return state === undefined ? 'without a status' : String(TaskState[state] ?? state).replace('TASK_STATE_', '').toLowerCase();
}
