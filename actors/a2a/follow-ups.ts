import { Message, Role, Task, type AgentCard, type SendMessageRequest, type StreamResponse } from '@a2a-js/sdk';
import { RequestMalformedError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, DefaultRequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import type { TaskActors } from './task-store.js';
import { BLOCKING, scopeOf } from './sdk-task-store.js';
import type { ClaimVerdict, SendResponse, TaskJson } from './task-actor.js';
import { checkMessageIds, inferContext, refuseRecancel } from './inputs.js';

/** Times a repeat asks again after the message it repeats failed before anything ran. */
const MAX_RETRIES = 3;

type Sent = Message | Task;

const isTask = (r: Sent): r is Task => 'status' in r;
const toResponse = (r: Sent): SendResponse => (isTask(r) ? { task: Task.toJSON(r) as TaskJson } : { message: Message.toJSON(r) as { messageId: string } });

/**
 * Call-context key: whether the caller follows the task's events (a stream). A blocking send
 * sees only the end, so its turn asks the agent for the whole answer at once instead of an
 * artifact update (and a task save) per delta.
 */
export const STREAMED = 'troupe.a2a.streamed';

/**
 * Call-context key: a call another node forwarded here, recorded by its call id (see the home
 * actor). Its task is written step by step, as a push-followed one is: a repeat after a
 * restart of this node that finds no recorded answer is answered from the task, which must
 * then be on disk.
 */
export const RECORDED = 'troupe.a2a.recorded';

/** Parts of one message at most. */
const MAX_PARTS = 256;

/** What the SDK lets through and the spec refuses (-32602): a message with no parts, or no content. */
function checkMessage(params: SendMessageRequest): void {
  checkHistoryLength(params.configuration?.historyLength);
  checkMessageIds(params);
  if (params.message && params.message.role !== Role.ROLE_USER && params.message.role !== Role.ROLE_AGENT) {
    throw new RequestMalformedError('message.role must be ROLE_USER or ROLE_AGENT');
  }
  const parts = params.message?.parts ?? [];
  if (parts.length === 0) throw new RequestMalformedError('message.parts must hold at least one part');
  if (parts.length > MAX_PARTS) throw new RequestMalformedError(`message.parts holds at most ${MAX_PARTS} parts`);
  if (parts.some((p) => !p.content)) throw new RequestMalformedError('every part of message.parts needs content (text, url, raw or data)');
}

/** A negative historyLength is refused (-32602); the SDK would take it as "all". */
function checkHistoryLength(n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new RequestMalformedError('historyLength must be a non-negative integer');
}

/**
 * The SDK's request handler with follow-ups made exactly-once. The SDK runs every message
 * sent to a non-terminal task (two concurrent answers to one input-required task both run
 * the agent, and a retried message runs again); here a message naming a task first asks the
 * task actor, whose mailbox serializes them: one message per interruption continues the task,
 * a repeat of it (same messageId) gets its response, and the others are refused with
 * UnsupportedOperation (-32004). Everything else goes to the SDK as it is.
 *
 * @example
 * const handler = new FollowUpGuard(new DefaultRequestHandler(card, store, executor), 'echo', tasks);
 * const rpc = new JsonRpcTransportHandler(handler);
 */
export class FollowUpGuard implements A2ARequestHandler {
  constructor(private readonly inner: DefaultRequestHandler, private readonly agent: string, private readonly tasks: TaskActors) {}

  getAgentCard(): Promise<AgentCard> {
    return this.inner.getAgentCard();
  }

  getAuthenticatedExtendedAgentCard(...a: Parameters<A2ARequestHandler['getAuthenticatedExtendedAgentCard']>): ReturnType<A2ARequestHandler['getAuthenticatedExtendedAgentCard']> {
    return this.inner.getAuthenticatedExtendedAgentCard(...a);
  }

  async sendMessage(params: SendMessageRequest, ctx: ServerCallContext): Promise<Sent> {
    checkMessage(params);
    ctx.state.set(STREAMED, false);
    // a push receiver is told of every step: such a send's task is written step by step
    // (as is a forwarded call's, found by its record after a restart)
    ctx.state.set(BLOCKING, params.configuration?.returnImmediately !== true && !params.configuration?.taskPushNotificationConfig && ctx.state.get(RECORDED) !== true);
    const taskId = params.message?.taskId;
    if (!taskId) return this.inner.sendMessage(params, ctx);
    inferContext(params, await this.tasks.load(this.agent, scopeOf(ctx), taskId));
    const verdict = await this.claim(taskId, params.message!.messageId, ctx);
    if (verdict.kind === 'duplicate') return this.replay(taskId, verdict.response, ctx);
    if (verdict.kind !== 'won') return this.inner.sendMessage(params, ctx);
    let out: Sent;
    try {
      out = await this.inner.sendMessage(params, ctx);
    } catch (e) {
      await this.tasks.answered(this.agent, scopeOf(ctx), taskId, params.message!.messageId, { error: { message: String((e as Error)?.message ?? e).slice(0, 1_000) } });
      throw e;
    }
    await this.tasks.answered(this.agent, scopeOf(ctx), taskId, params.message!.messageId, toResponse(out));
    return out;
  }

  async *sendMessageStream(params: SendMessageRequest, ctx: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    checkMessage(params);
    ctx.state.set(STREAMED, true);
    const taskId = params.message?.taskId;
    if (!taskId) return yield* this.inner.sendMessageStream(params, ctx);
    inferContext(params, await this.tasks.load(this.agent, scopeOf(ctx), taskId));
    const messageId = params.message!.messageId;
    const verdict = await this.claim(taskId, messageId, ctx);
    if (verdict.kind === 'duplicate') {
      const r = await this.replay(taskId, verdict.response, ctx);
      yield { payload: isTask(r) ? { $case: 'task', value: r } : { $case: 'message', value: r } };
      return;
    }
    if (verdict.kind !== 'won') return yield* this.inner.sendMessageStream(params, ctx);
    let started = false;
    let failure: unknown;
    try {
      for await (const ev of this.inner.sendMessageStream(params, ctx)) {
        started = true;
        yield ev;
      }
    } catch (e) {
      failure = e ?? new Error('stream failed');
    }
    // the stream's response, for its repeats: the task as the stream left it (or, when it
    // failed before anything ran, the error, which releases the claim)
    const task = started ? await this.tasks.load(this.agent, scopeOf(ctx), taskId) : undefined;
    const response: SendResponse = task ? { task } : { error: { message: String((failure as Error)?.message ?? failure ?? 'no task').slice(0, 1_000) } };
    await this.tasks.answered(this.agent, scopeOf(ctx), taskId, messageId, response);
    if (failure !== undefined) throw failure;
  }

  // A request that tells its caller of a task first makes the task's deferred steps durable
  // (a blocking send keeps them in memory until its end: see TaskActors.save).

  async getTask(...a: Parameters<A2ARequestHandler['getTask']>): ReturnType<A2ARequestHandler['getTask']> {
    checkHistoryLength(a[0].historyLength);
    await this.tasks.durable(this.agent, scopeOf(a[1]), [a[0].id]);
    return this.inner.getTask(...a);
  }

  async cancelTask(...a: Parameters<A2ARequestHandler['cancelTask']>): ReturnType<A2ARequestHandler['cancelTask']> {
    if (typeof a[0]?.id === 'string') {
      await this.tasks.durable(this.agent, scopeOf(a[1]), [a[0].id]);
      refuseRecancel(await this.tasks.load(this.agent, scopeOf(a[1]), a[0].id), a[0].id);
    }
    return this.inner.cancelTask(...a);
  }

  async createTaskPushNotificationConfig(...a: Parameters<A2ARequestHandler['createTaskPushNotificationConfig']>): ReturnType<A2ARequestHandler['createTaskPushNotificationConfig']> {
    await this.tasks.durable(this.agent, scopeOf(a[1]), [a[0].taskId]);
    return this.inner.createTaskPushNotificationConfig(...a);
  }

  getTaskPushNotificationConfig(...a: Parameters<A2ARequestHandler['getTaskPushNotificationConfig']>): ReturnType<A2ARequestHandler['getTaskPushNotificationConfig']> {
    return this.inner.getTaskPushNotificationConfig(...a);
  }

  listTaskPushNotificationConfigs(...a: Parameters<A2ARequestHandler['listTaskPushNotificationConfigs']>): ReturnType<A2ARequestHandler['listTaskPushNotificationConfigs']> {
    return this.inner.listTaskPushNotificationConfigs(...a);
  }

  deleteTaskPushNotificationConfig(...a: Parameters<A2ARequestHandler['deleteTaskPushNotificationConfig']>): ReturnType<A2ARequestHandler['deleteTaskPushNotificationConfig']> {
    return this.inner.deleteTaskPushNotificationConfig(...a);
  }

  async *resubscribe(...a: Parameters<A2ARequestHandler['resubscribe']>): ReturnType<A2ARequestHandler['resubscribe']> {
    await this.tasks.durable(this.agent, scopeOf(a[1]), [a[0].id]);
    return yield* this.inner.resubscribe(...a);
  }

  async listTasks(...a: Parameters<A2ARequestHandler['listTasks']>): ReturnType<A2ARequestHandler['listTasks']> {
    checkHistoryLength(a[0].historyLength);
    const page = await this.inner.listTasks(...a);
    await this.tasks.durable(this.agent, scopeOf(a[1]), page.tasks.map((t) => t.id));
    return page;
  }

  /** The task actor's verdict; `refused` is thrown, `retry` asked again (bounded). */
  private async claim(taskId: string, messageId: string, ctx: ServerCallContext): Promise<Exclude<ClaimVerdict, { kind: 'retry' | 'refused' }>> {
    for (let i = 0; i <= MAX_RETRIES; i++) {
      const v = await this.tasks.claim(this.agent, scopeOf(ctx), taskId, messageId);
      if (v.kind === 'retry') continue;
      if (v.kind === 'refused') {
        throw new UnsupportedOperationError(`task ${taskId.slice(0, 64)} is not waiting for input (${v.state.replace('TASK_STATE_', '').toLowerCase()}); another message already continued it`);
      }
      return v;
    }
    throw new UnsupportedOperationError(`task ${taskId.slice(0, 64)}: the message kept failing before it ran`);
  }

  /** A repeat's response: the recorded one, else (still waiting, or lost to a restart) the task now. */
  private async replay(taskId: string, response: SendResponse | null, ctx: ServerCallContext): Promise<Sent> {
    if (response && 'task' in response) return Task.fromJSON(response.task);
    if (response && 'message' in response) return Message.fromJSON(response.message);
    const now = await this.tasks.load(this.agent, scopeOf(ctx), taskId);
    if (!now) throw new UnsupportedOperationError(`task ${taskId.slice(0, 64)} is gone`);
    return Task.fromJSON(now);
  }
}
