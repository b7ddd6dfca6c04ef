import { randomUUID } from 'node:crypto';
import type { StreamResponse, Task } from '@a2a-js/sdk';
import { V1PushNotificationSerializer, type PushNotificationSender, type PushNotificationSerializer, type ServerCallContext } from '@a2a-js/sdk/server';
import { V03PushNotificationSerializer } from '@a2a-js/sdk/compat/v0_3/server';
import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/index.js';
import { scopeOf } from '../sdk-task-store.js';
import type { PushConfigs } from './config-store.js';
import type { PushDelivery } from './delivery.js';
import { MAX_NOTIFICATION_BYTES, type PushOutbox } from './outbox.js';

const serializers: Record<string, PushNotificationSerializer> = { '1.0': new V1PushNotificationSerializer(), '0.3': new V03PushNotificationSerializer() };

/** The task a stream response is about ('' for a message with no task). */
function taskIdOf(r: StreamResponse): string {
  const p = r.payload;
  if (!p) return '';
  return p.$case === 'task' ? p.value.id : p.value.taskId;
}

/**
 * The SDK's `PushNotificationSender` for one agent: each task event (the task, a status or an
 * artifact update) becomes one outbox entry per config of the task, in the body shape of the
 * version the config was registered over (1.0 StreamResponse JSON, or 0.3), committed to the
 * durable outbox; {@link PushDelivery} sends it. The outbox order is taken synchronously, so
 * notifications follow the task's event order.
 *
 * @example
 * const handler = new DefaultRequestHandler(card, taskStore, executor, undefined, configs.storeFor('echo'), new OutboxPushSender('echo', configs, outbox, delivery, clock, log));
 */
export class OutboxPushSender implements PushNotificationSender {
  constructor(
    private readonly agent: string,
    private readonly configs: PushConfigs,
    private readonly outbox: PushOutbox,
    private readonly delivery: PushDelivery,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  send(streamResponse: StreamResponse, ctx: ServerCallContext, task?: Task): Promise<void> {
    // every task event comes here: with no config on the node there is nothing to look up
    if (this.configs.empty) return Promise.resolve();
    return this.sendIn(scopeOf(ctx), streamResponse, task);
  }

  /** {@link send} for a caller's scope (tenant and owner) without a call context. */
  async sendIn(scope: { tenant: string; owner: string }, streamResponse: StreamResponse, task?: Task): Promise<void> {
    const taskId = taskIdOf(streamResponse);
    if (!taskId) return;
    const stored = this.configs.list(this.agent, scope, taskId);
    if (stored.length === 0) return;
    const now = this.clock.now();
    const adds: Promise<void>[] = [];
    for (const { config, wireVersion } of stored) {
      // the version the config was registered over: one of ours, else 1.0 (never an Object.prototype member)
      const serializer = Object.hasOwn(serializers, wireVersion) ? serializers[wireVersion]! : serializers['1.0']!;
      const { body, contentType } = serializer.serialize(streamResponse, task);
      if (Buffer.byteLength(body) > MAX_NOTIFICATION_BYTES) {
        this.log.warn({ task: taskId, agent: this.agent, code: 'TROUPE_ERR_A2A_PUSH_CONFIG_LIMIT' }, 'push notification over 4 MiB; not sent');
        continue;
      }
      adds.push(this.outbox.add({
        v: 1, id: randomUUID(), target: JSON.stringify([this.agent, scope.tenant, scope.owner, taskId, config.id]),
        agent: this.agent, taskId, url: config.url,
        ...(config.token ? { token: config.token } : {}),
        ...(config.authentication?.scheme ? { scheme: config.authentication.scheme } : {}),
        ...(config.authentication?.credentials ? { credentials: config.authentication.credentials } : {}),
        body, contentType, attempts: 0, nextAt: now, createdAt: now,
      }).catch((e: unknown) => this.log.warn({ err: e, task: taskId, agent: this.agent }, 'push notification not queued')));
    }
    await Promise.all(adds);
    this.delivery.kick();
  }
}
