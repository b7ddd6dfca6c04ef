import type { Task } from '@a2a-js/sdk';
import type { PushNotificationSender, PushNotificationStore } from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/index.js';
import type { NodeStore } from '../../../storage/index.js';
import { PushConfigs } from './config-store.js';
import { PushDelivery, type PushStats } from './delivery.js';
import type { PushOptions } from './options.js';
import { PushOutbox } from './outbox.js';
import { OutboxPushSender } from './sender.js';
import { PushSigner } from './signer.js';

/**
 * A2A push notifications of a node: the configs (LMDB), the durable outbox, its delivery
 * loop and the node's signing key. Opened by the a2a module; each agent's request handler
 * gets {@link PushService.storeFor} and {@link PushService.senderFor}. Notifications left in
 * the outbox by the last run are delivered as soon as it opens.
 *
 * @example
 * const push = await PushService.open({ store: host.store, id: host.id, clock: host.clock, logger: log }, options.push);
 * new DefaultRequestHandler(card, tasks, executor, undefined, push.storeFor('echo'), push.senderFor('echo'));
 */
export class PushService {
  private constructor(
    readonly configs: PushConfigs,
    readonly outbox: PushOutbox,
    readonly delivery: PushDelivery,
    readonly signer: PushSigner,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  static async open(host: { store: NodeStore | undefined; id: string; clock: Clock; logger: Logger }, options: PushOptions, random?: () => number): Promise<PushService> {
    const log = host.logger.child({ part: 'push' });
    const configs = new PushConfigs(host.store, options, log);
    const outbox = new PushOutbox(host.store, options.maxPending, log, options.maxPendingBytes);
    const signer = await PushSigner.open(host.store, host.id, log);
    const delivery = new PushDelivery(outbox, options, host.clock, log, signer, random);
    if (outbox.size > 0) {
      log.info({ pending: outbox.size }, 'push notifications pending from the last run');
      outbox.retryBy(host.clock.now() + options.initialBackoffMs);
    }
    delivery.kick();
    return new PushService(configs, outbox, delivery, signer, host.clock, log);
  }

  storeFor(agent: string): PushNotificationStore {
    return this.configs.storeFor(agent);
  }

  senderFor(agent: string): PushNotificationSender {
    return new OutboxPushSender(agent, this.configs, this.outbox, this.delivery, this.clock, this.log);
  }

  /**
   * A status the node set itself (not through the SDK: a task failed on start because it
   * was working when the node stopped), notified to the task's configs like any event.
   */
  notifyStatus(agent: string, scope: { tenant: string; owner: string }, task: Task): Promise<void> {
    return new OutboxPushSender(agent, this.configs, this.outbox, this.delivery, this.clock, this.log).sendIn(scope, {
      payload: { $case: 'statusUpdate', value: { taskId: task.id, contextId: task.contextId, status: task.status, metadata: task.metadata } },
    }, task);
  }

  /** Delivered, failed attempts, given up; and notifications waiting. */
  stats(): PushStats & { pending: number } {
    return { ...this.delivery.stats, pending: this.outbox.size };
  }

  /** Stop delivering (what is pending stays in the outbox for the next start). Idempotent. */
  close(): Promise<void> {
    return this.delivery.close();
  }
}
