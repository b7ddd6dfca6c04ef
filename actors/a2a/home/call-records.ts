import { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock } from '../../../protocol/index.js';
import type { NodeStore, StoreDb } from '../../../storage/index.js';
import { MAX_REMEMBERED_CALLS } from './call-memory.js';
import { callReplySchema, type CallReply } from './wire.js';

/** The LMDB database of the calls the home took from other nodes (key: the call id). */
export const HOME_CALLS_DB = 'a2a.home.calls';
/** Answers up to this many bytes of JSON are recorded whole (a repeat gets them as they were); a larger one by its task's id. */
export const MAX_RECORDED_REPLY_BYTES = 64 * 1024;
/** Expired records removed per call taken (the sweep that keeps the database short between restarts). */
const SWEEP_PER_CALL = 8;

/**
 * A call as recorded: written (committed) before it runs, and again with its answer. A
 * record with no answer is a call that was running when its node stopped: its repeat is
 * answered from the task it produced, never run again. Validated on read.
 */
export const callRecordSchema = z.object({
  v: z.literal(1),
  /** What the call was (agent, method, caller's scope; a stream's start: its reply address too): a repeat must be the same call. */
  what: z.string().min(1).max(2_048),
  /** Node-clock ms until which its asker may repeat it; then the record goes. */
  keepUntil: z.number().int().min(0),
  /** A send's A2A message id (its task is found by it when the answer was not recorded). */
  messageId: z.string().min(1).max(256).optional(),
  /** The task the call names (a follow-up's, a cancel's). */
  taskId: z.string().min(1).max(256).optional(),
  /** A stream's start (its events cannot be told again). */
  stream: z.literal(true).optional(),
  /** The answer as given to the asker (when small enough). */
  reply: callReplySchema.optional(),
  /** The answer's task, for an answer too large to record whole. */
  taskRef: z.string().min(1).max(256).optional(),
}).strict();
export type CallRecord = z.infer<typeof callRecordSchema>;

/**
 * The home's calls in LMDB (`a2a.home.calls`), so that a call its asker repeats across a
 * restart of this node (kill -9 included) runs once: the record is committed before the call
 * runs and again with its answer. Bounded in count ({@link MAX_REMEMBERED_CALLS}: past it the
 * oldest answered record goes first, then the oldest of all) and pruned on the node's clock
 * (a record past its `keepUntil` goes: at start, and a few each time a call is taken). On a
 * node without a data dir there is nothing to record (the in-memory {@link CallMemory} alone).
 *
 * @example
 * const records = new CallRecords(host.store, host.clock, log);
 * const before = records.get(callId, what); // a call taken before a restart
 * await records.begin(callId, { v: 1, what, keepUntil, messageId }); // then run it
 */
export class CallRecords {
  private readonly db: StoreDb | undefined;
  /** Every record's expiry and whether it holds an answer, oldest first. */
  private readonly index = new Map<string, { keepUntil: number; answered: boolean }>();

  constructor(private readonly store: NodeStore | undefined, private readonly clock: Clock, private readonly log: Logger, private readonly max = MAX_REMEMBERED_CALLS) {
    this.db = store?.db(HOME_CALLS_DB);
    if (!this.db) return;
    const now = clock.now();
    const read: Array<[string, CallRecord]> = [];
    const drop: unknown[] = [];
    for (const { key, value } of this.db.getRange({})) {
      const r = callRecordSchema.safeParse(value);
      if (typeof key !== 'string' || !r.success) {
        log.warn({ key: String(key).slice(0, 200) }, 'an A2A home call record failed validation; dropped');
        drop.push(key);
      } else if (r.data.keepUntil < now) drop.push(key);
      else read.push([key, r.data]);
    }
    read.sort((a, b) => a[1].keepUntil - b[1].keepUntil);
    for (const [id] of read.splice(0, Math.max(0, read.length - max))) drop.push(id);
    for (const [id, r] of read) this.index.set(id, { keepUntil: r.keepUntil, answered: r.reply !== undefined || r.taskRef !== undefined });
    for (const key of drop) this.remove(key);
  }

  /** Whether calls are recorded (the node has a data dir). */
  get durable(): boolean {
    return this.db !== undefined;
  }

  get size(): number {
    return this.index.size;
  }

  /** The record of call `id` when it is the same call (`what`) and its asker may still repeat it. */
  get(id: string, what: string): CallRecord | undefined {
    const at = this.index.get(id);
    if (!this.db || !at) return undefined;
    if (at.keepUntil < this.clock.now()) {
      this.forget(id);
      return undefined;
    }
    const r = callRecordSchema.safeParse(this.db.get(id));
    if (!r.success) {
      this.log.warn({ call: id.slice(0, 128) }, 'an A2A home call record failed validation; dropped');
      this.forget(id);
      return undefined;
    }
    return r.data.what === what ? r.data : undefined;
  }

  /** Record call `id` as taken, before it runs; resolves once committed. */
  async begin(id: string, record: CallRecord): Promise<void> {
    if (!this.db || !this.store) return;
    this.sweep();
    if (!this.index.has(id) && this.index.size >= this.max) this.evict();
    this.index.delete(id);
    this.index.set(id, { keepUntil: record.keepUntil, answered: false });
    await this.store.put(this.db, id, record);
  }

  /**
   * Record call `id`'s answer (whole when small, else by its task); resolves once committed.
   * A call whose record went meanwhile (pruned) is not written again.
   */
  async answer(id: string, record: CallRecord, reply: CallReply, taskRef: string | undefined): Promise<void> {
    const at = this.index.get(id);
    if (!this.db || !this.store || !at) return;
    const whole = Buffer.byteLength(JSON.stringify(reply)) <= MAX_RECORDED_REPLY_BYTES;
    // too large and no task to read it from again: the record stays unanswered (its repeat reads the task by message id)
    if (!whole && taskRef === undefined) return;
    at.answered = true;
    await this.store.put(this.db, id, whole ? { ...record, reply } : { ...record, taskRef });
  }

  /** Expired records at the head go (a few per call, so the sweep costs little). */
  private sweep(): void {
    const now = this.clock.now();
    let n = 0;
    for (const [id, at] of this.index) {
      if (n++ >= SWEEP_PER_CALL || at.keepUntil >= now) break;
      this.forget(id);
    }
  }

  /** Room for one: the oldest expired or answered record, else the oldest of all. */
  private evict(): void {
    const now = this.clock.now();
    for (const [id, at] of this.index) {
      if (at.answered || at.keepUntil < now) return this.forget(id);
    }
    const oldest = this.index.keys().next().value;
    if (oldest !== undefined) this.forget(oldest);
  }

  private forget(id: string): void {
    this.index.delete(id);
    this.remove(id);
  }

  private remove(key: unknown): void {
    if (!this.db || !this.store || this.store.closed) return;
    this.store.remove(this.db, key as string).catch((e: unknown) => this.log.warn({ err: e }, 'removing an A2A home call record failed'));
  }
}
