import {
  AgentCard, ListTaskPushNotificationConfigsResponse, ListTasksResponse, SendMessageRequest, SendMessageResponse, StreamResponse, Task, TaskPushNotificationConfig, taskStateFromJSON,
  type Message,
} from '@a2a-js/sdk';
import { RequestMalformedError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { z } from 'zod';

/** What one REST operation answers: a JSON body with its status, or an event stream. */
export type RestAnswer =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'empty'; status: 204 }
  | { kind: 'stream'; events: AsyncGenerator<StreamResponse, void, undefined> };

/** A JSON request body: an object (the SDK's `fromJSON` reads the fields it knows). */
const bodySchema = z.record(z.string(), z.unknown());

/** Query parameters of ListTasks (strings, bounded). */
const listQuerySchema = z.object({
  contextId: z.string().max(256).optional(),
  status: z.string().max(64).optional(),
  pageSize: z.string().max(16).optional(),
  pageToken: z.string().max(1_024).optional(),
  historyLength: z.string().max(16).optional(),
  statusTimestampAfter: z.string().max(64).optional(),
  includeArtifacts: z.string().max(8).optional(),
}).loose();

function body(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  const parsed = bodySchema.safeParse(raw);
  if (!parsed.success) throw new RequestMalformedError('the request body must be a JSON object');
  return parsed.data;
}

function int(value: string | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value.trim())) throw new RequestMalformedError(`${what} must be a non-negative integer`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new RequestMalformedError(`${what} must be between ${min} and ${max}`);
  return n;
}

function checkSend(params: SendMessageRequest): void {
  if (!params.message) throw new RequestMalformedError('message is required');
  if (!params.message.messageId) throw new RequestMalformedError('message.messageId is required');
}

const sendResult = (r: Message | Task): SendMessageResponse => ('messageId' in r ? { payload: { $case: 'message', value: r } } : { payload: { $case: 'task', value: r } });

/**
 * The REST (HTTP+JSON) binding of A2A 1.0 over an SDK request handler, independent of the
 * HTTP framework: each operation takes the path parameters, query and body as the SDK's
 * express `restHandler` reads them (the SDK does not export its REST transport handler, so
 * this is its logic on the same request handler) and answers ProtoJSON in the 1.0 shapes.
 *
 * @example
 * const rest = new RestOperations(endpoint.handler);
 * const answer = await rest.send(req.body, ctx); // { kind: 'json', status: 200, body: { task: {...} } }
 */
export class RestOperations {
  constructor(private readonly handler: A2ARequestHandler) {}

  async send(raw: unknown, ctx: ServerCallContext): Promise<RestAnswer> {
    const params = SendMessageRequest.fromJSON(body(raw));
    checkSend(params);
    const result = await this.handler.sendMessage(params, ctx);
    return { kind: 'json', status: 200, body: SendMessageResponse.toJSON(sendResult(result)) };
  }

  async stream(raw: unknown, ctx: ServerCallContext): Promise<RestAnswer> {
    const params = SendMessageRequest.fromJSON(body(raw));
    checkSend(params);
    const card = await this.handler.getAgentCard();
    if (!card.capabilities?.streaming) throw new UnsupportedOperationError('streaming is not supported');
    return { kind: 'stream', events: this.handler.sendMessageStream(params, ctx) };
  }

  async getTask(id: string, query: Record<string, unknown>, ctx: ServerCallContext): Promise<RestAnswer> {
    const historyLength = int(typeof query.historyLength === 'string' ? query.historyLength : undefined, 'historyLength', 0, 1_000_000);
    const task = await this.handler.getTask({ id, tenant: '', ...(historyLength !== undefined ? { historyLength } : {}) }, ctx);
    return { kind: 'json', status: 200, body: Task.toJSON(task) };
  }

  async cancel(id: string, ctx: ServerCallContext): Promise<RestAnswer> {
    const task = await this.handler.cancelTask({ id, tenant: '', metadata: {} }, ctx);
    return { kind: 'json', status: 200, body: Task.toJSON(task) };
  }

  async subscribe(id: string, ctx: ServerCallContext): Promise<RestAnswer> {
    return { kind: 'stream', events: this.handler.resubscribe({ id, tenant: '' }, ctx) };
  }

  async list(rawQuery: unknown, ctx: ServerCallContext): Promise<RestAnswer> {
    const parsed = listQuerySchema.safeParse(rawQuery ?? {});
    if (!parsed.success) throw new RequestMalformedError('the query parameters are not valid');
    const q = parsed.data;
    const includeArtifacts = q.includeArtifacts === 'true';
    const result = await this.handler.listTasks({
      tenant: '',
      contextId: q.contextId ?? '',
      status: q.status ? taskStateFromJSON(Number.isNaN(Number(q.status)) ? q.status : Number(q.status)) : 0,
      pageSize: int(q.pageSize, 'pageSize', 1, 100),
      pageToken: q.pageToken ?? '',
      historyLength: int(q.historyLength, 'historyLength', 0, 1_000_000),
      statusTimestampAfter: q.statusTimestampAfter || undefined,
      includeArtifacts,
    }, ctx);
    const json: Record<string, unknown> = { totalSize: 0, pageSize: 0, nextPageToken: '', ...(ListTasksResponse.toJSON(result) as Record<string, unknown>) };
    const tasks = (json.tasks as Array<Record<string, unknown>> | undefined) ?? [];
    return { kind: 'json', status: 200, body: { ...json, tasks: includeArtifacts ? tasks.map((t) => ({ artifacts: [], ...t })) : tasks } };
  }

  async createPushConfig(taskId: string, raw: unknown, ctx: ServerCallContext): Promise<RestAnswer> {
    const config = TaskPushNotificationConfig.fromJSON({ ...body(raw), taskId });
    const created = await this.handler.createTaskPushNotificationConfig(config, ctx);
    return { kind: 'json', status: 201, body: TaskPushNotificationConfig.toJSON(created) };
  }

  async listPushConfigs(taskId: string, ctx: ServerCallContext): Promise<RestAnswer> {
    const result = await this.handler.listTaskPushNotificationConfigs({ taskId, pageSize: 0, pageToken: '', tenant: '' }, ctx);
    return { kind: 'json', status: 200, body: ListTaskPushNotificationConfigsResponse.toJSON(result) };
  }

  async getPushConfig(taskId: string, id: string, ctx: ServerCallContext): Promise<RestAnswer> {
    const config = await this.handler.getTaskPushNotificationConfig({ taskId, id, tenant: '' }, ctx);
    return { kind: 'json', status: 200, body: TaskPushNotificationConfig.toJSON(config) };
  }

  async deletePushConfig(taskId: string, id: string, ctx: ServerCallContext): Promise<RestAnswer> {
    await this.handler.deleteTaskPushNotificationConfig({ taskId, id, tenant: '' }, ctx);
    return { kind: 'empty', status: 204 };
  }

  async extendedCard(ctx: ServerCallContext): Promise<RestAnswer> {
    const card = await this.handler.getAuthenticatedExtendedAgentCard({ tenant: '' }, ctx);
    return { kind: 'json', status: 200, body: AgentCard.toJSON(card) };
  }
}
