import type { Logger } from 'pino';
import { TroupeError, newId, serializeError, type Clock, type Envelope } from '../../protocol/index.js';
import type { DeadLetterQuery, DeadLetterReason, DeadLetterRecord, DeadLetterStore } from '../../storage/index.js';
import type { Inspector } from './inspection.js';
import { Meta } from './meta.js';
import type { ActorRef } from './ref.js';
import { messageType } from './remote.js';

/** The dead-letter API a node exposes: list, inspect, and redeliver (re-send to the original address). */
export interface DeadLetterApi {
  list(opts?: DeadLetterQuery): DeadLetterRecord[];
  get(id: string): DeadLetterRecord | undefined;
  count(): number;
  redeliver(id: string): Promise<void>;
}

/**
 * Dead letters: messages to stopped or unknown actors, refused ones (full mailbox, invalid),
 * poison messages after repeated crashes. Each is an inspection event and a record in the
 * node's store (LMDB with a data dir); a store failure is logged, never thrown at a sender.
 */
export class DeadLetters implements DeadLetterApi {
  constructor(
    private readonly store: DeadLetterStore,
    private readonly clock: Clock,
    private readonly inspector: Inspector,
    private readonly logger: Logger,
    private readonly resend: (to: string, payload: unknown, correlationId?: string) => void,
    private readonly toRef: (target: string) => ActorRef,
  ) {}

  record(reason: DeadLetterReason, to: string, message: unknown, meta: Meta | undefined, error?: unknown): void {
    const id = newId();
    const record: DeadLetterRecord = {
      id,
      at: this.clock.now(),
      reason,
      envelope: {
        id: meta?.id ?? newId(),
        to,
        type: messageType(message),
        createdAt: Math.floor(this.clock.now()),
        payload: message,
        // clipped to what an envelope holds: the record of a refused message must still be storable
        ...(meta?.correlationId ? { correlationId: meta.correlationId.slice(0, 256) } : {}),
        ...(meta?.sender ? { from: meta.sender.address } : {}),
      },
      ...(error === undefined ? {} : { error: serializeError(error) }),
      ...(meta && meta.attempts > 0 ? { attempts: meta.attempts } : {}),
    };
    this.inspector.emit({ type: 'message.dead-lettered', id, reason, to, messageType: record.envelope.type });
    try {
      const r = this.store.add(record);
      if (r instanceof Promise) r.catch((e: unknown) => this.logger.warn({ err: e }, 'dead letter not stored'));
    } catch (e) {
      this.logger.warn({ err: e, to }, 'dead letter not stored');
    }
  }

  /** Record an envelope that could not be delivered (used by the cluster transport). */
  recordEnvelope(env: Envelope, reason: DeadLetterReason, error?: unknown): void {
    const sender = env.from ? this.toRef(env.from) : undefined;
    this.record(reason, env.to, env.payload, new Meta(undefined, sender, env.correlationId, undefined, env.id), error);
  }

  list(opts?: DeadLetterQuery): DeadLetterRecord[] {
    return this.store.list(opts);
  }

  get(id: string): DeadLetterRecord | undefined {
    return this.store.get(id);
  }

  count(): number {
    return this.store.count();
  }

  async redeliver(id: string): Promise<void> {
    const r = this.store.get(id);
    if (!r) throw new TroupeError('TROUPE_ERR_DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`);
    await this.store.remove(id);
    this.resend(r.envelope.to, r.envelope.payload, r.envelope.correlationId);
  }
}
