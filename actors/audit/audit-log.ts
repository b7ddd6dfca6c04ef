import type { Logger } from 'pino';
import { TroupeError, describeIssues, type Clock } from '../../protocol/index.js';
import { AUDIT_MAX_RECORD_BYTES, type AuditChainStore, type AuditCheckpoint } from '../../storage/index.js';
import { checkCheckpoint, makeCheckpoint } from './checkpoint.js';
import { fastRecordInput } from './fast-input.js';
import { AuditMetrics } from './metrics.js';
import type { AuditOptions } from './options.js';
import { queryRecords, type AuditPage, type AuditQuery } from './query.js';
import { DRAFT_TAIL, draftRecord, draftText, type AuditDraft } from './draft.js';
import { auditRecordInputSchema, type AuditRecord, type AuditRecordInput } from './record.js';
import type { AuditSigningKey } from './signing-key.js';
import { verifyOwnChain, type AuditVerification } from './verify.js';

/**
 * The audit log's API (`host.module<AuditApi>('audit')`). `record` resolves once the record
 * is committed in the hash chain, so a module awaits it before it reports its action done.
 *
 * @example
 * const audit = host.module<AuditApi>('audit');
 * await audit.record({ action: 'TASK_SUBMIT', actor: 'aoa', target: task.id, payload: task.payload });
 */
export interface AuditApi {
  /** Append one record (batched with concurrent ones); resolves with it once committed. */
  record(input: AuditRecordInput): Promise<AuditRecord>;
  /** Records in sequence order, filtered and paged. */
  query(filter?: AuditQuery): AuditPage;
  /** Walk the chain against this node's signed checkpoints (and `extra` ones, e.g. from peers). */
  verify(extra?: readonly AuditCheckpoint[], options?: { deep?: boolean }): AuditVerification;
  /** The committed head. */
  head(): { seq: number; hash: string };
  /** Sign the head now (kept, logged and sent to peers); the last one when the head has not moved. */
  checkpoint(): Promise<AuditCheckpoint | undefined>;
  /** This node's own checkpoints. */
  checkpoints(): AuditCheckpoint[];
  /** Keep a checkpoint of another node's chain (witnessing it). Throws TROUPE_ERR_AUDIT_CHECKPOINT_INVALID. */
  witness(cp: unknown): Promise<void>;
  /** Checkpoints this node witnessed, of one origin or all. */
  witnessed(origin?: string): AuditCheckpoint[];
  /** Base64 SPKI DER of this node's checkpoint signing key. */
  readonly publicKey: string;
}

/** What the log needs of its node. */
export interface AuditLogHost {
  readonly id: string;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * A record waiting for its commit: the draft's members held here (one object per record
 * kept alive until the commit, not two); `head` and `mid` are dropped once its text is made.
 */
interface Pending extends AuditDraft {
  resolve: (r: AuditRecord) => void;
  reject: (e: unknown) => void;
}

// the settle functions of the promise being made (one executor for all: no closure per record)
let resolveNext: Pending['resolve'] = () => undefined;
let rejectNext: Pending['reject'] = () => undefined;
const capture = (resolve: Pending['resolve'], reject: Pending['reject']): void => {
  resolveNext = resolve;
  rejectNext = reject;
};

/**
 * Give a batch's records their seq (from `first`) and ts, and make their stored texts. The
 * drafts' JSON pieces are dropped as they are used, and the texts are not kept past the
 * append that copies them: what waits for the commit is the records, not their JSON twice.
 */
function stamp(batch: Pending[], first: number, ts: number): string[] {
  const texts = new Array<string>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const p = batch[i]!;
    p.record.seq = first + i;
    p.record.ts = ts;
    texts[i] = draftText(p, first + i, ts);
    p.head = '';
    p.mid = '';
  }
  return texts;
}

/** Fewest records per append that the group commit shares out (a smaller group is not worth a commit of its own). */
const SHARE_MIN = 64;

/** Longest JSON (in UTF-16 units) that is surely within the stored size limit: 3 bytes a unit, seq and ts at most 16 digits each. */
const SURELY_SMALL = Math.floor((AUDIT_MAX_RECORD_BYTES - DRAFT_TAIL.length - 32) / 3);

/**
 * The batched writer of the audit chain (group commit). An idle log writes a record at once;
 * records that arrive while commits are in flight wait and go together in the next append,
 * and up to `commitsInFlight` appends are in flight at a time (1 by default: each takes all
 * that waits; above 1 the next one is chained, encoded and queued in LMDB while the one
 * before commits). Each record is acknowledged only once its own commit is done; an append
 * commits only if every one before it did.
 */
export class AuditLog implements AuditApi {
  readonly publicKey: string;
  readonly metrics: AuditMetrics;
  private readonly log: Logger;
  private readonly pending: Pending[] = [];
  /** Appends in flight. */
  private readonly flights = new Set<Promise<void>>();
  /** Records in the appends in flight. */
  private writing = 0;
  /** An append was started in this event-loop turn. */
  private startedThisTurn = false;
  private readonly turnEnded = (): void => {
    this.startedThisTurn = false;
  };
  /** A kick is due in the next turn. */
  private deferred = false;
  private cpChain: Promise<unknown> = Promise.resolve();
  private lastCheckpointSeq: number;
  private timer: unknown;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly host: AuditLogHost,
    private readonly chain: AuditChainStore,
    private readonly key: AuditSigningKey,
    private readonly options: AuditOptions,
    /** Sends a new checkpoint to the peer nodes (best effort). */
    private readonly publish: (cp: AuditCheckpoint) => void = () => undefined,
  ) {
    this.log = host.logger.child({ module: 'audit' });
    this.publicKey = key.publicKey;
    this.metrics = new AuditMetrics(host.id, () => chain.head().seq);
    this.lastCheckpointSeq = chain.checkpoints().at(-1)?.seq ?? 0;
  }

  /** Start the periodic checkpoint timer. */
  start(): void {
    const tick = (): void => {
      if (this.closing) return;
      if (this.chain.head().seq > this.lastCheckpointSeq) void this.checkpoint().catch((e: unknown) => this.log.error({ err: e }, 'audit checkpoint failed'));
      this.timer = this.host.clock.setTimeout(tick, this.options.checkpointIntervalMs);
    };
    this.timer = this.host.clock.setTimeout(tick, this.options.checkpointIntervalMs);
  }

  record(input: AuditRecordInput): Promise<AuditRecord> {
    if (this.closing) return Promise.reject(new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the audit log is closed'));
    let data = fastRecordInput(input);
    if (data === undefined) {
      const r = auditRecordInputSchema.safeParse(input);
      if (!r.success) return Promise.reject(new TroupeError('TROUPE_ERR_AUDIT_RECORD_INVALID', `invalid audit record: ${describeIssues(r.error)}`));
      data = r.data;
    }
    const draft = draftRecord(data, this.host.id);
    if (draft.head.length + draft.mid.length > SURELY_SMALL) {
      // the largest it can be as stored: seq and ts at most 16 digits each
      const size = Buffer.byteLength(draft.head) + Buffer.byteLength(draft.mid) + DRAFT_TAIL.length + 32;
      if (size > AUDIT_MAX_RECORD_BYTES) return Promise.reject(new TroupeError('TROUPE_ERR_AUDIT_RECORD_INVALID', `an audit record is at most ${AUDIT_MAX_RECORD_BYTES} bytes as stored (this one: ${size})`));
    }
    if (this.pending.length >= this.options.maxPending) {
      this.metrics.records.inc({ outcome: 'refused' });
      return Promise.reject(new TroupeError('TROUPE_ERR_AUDIT_FULL', `${this.options.maxPending} audit records are waiting to be written`));
    }
    const promise = new Promise<AuditRecord>(capture);
    this.pending.push({ record: draft.record, head: draft.head, mid: draft.mid, resolve: resolveNext, reject: rejectNext });
    this.kick();
    return promise;
  }

  /**
   * Start appends while fewer than `commitsInFlight` are in flight. The records in flight and
   * waiting are shared out evenly (at most their 1/commitsInFlight per append, unless that is
   * under SHARE_MIN, and at most `batchMaxRecords`), and while one append is in flight the
   * next waits for a quarter of them and for the next event-loop turn: lmdb-js commits the
   * writes of one turn together, so two appends started in one turn would be one
   * transaction whose callers all come back at once. Started a turn apart, each is its own
   * commit, written while the one before it is flushed, and callers that await their record
   * and record again fall into even groups that take turns (an eager writer settles into one
   * append of all but one record and a second commit for that one). A deferred start never
   * strands records: the append in flight kicks again when it settles.
   */
  private kick(): void {
    const ways = this.options.commitsInFlight;
    while (this.flights.size < ways && this.pending.length > 0) {
      const out = this.pending.length + this.writing;
      if (this.flights.size > 0 && this.pending.length * 4 < out) return;
      if (this.flights.size > 0 && this.startedThisTurn) {
        this.nextTurn();
        return;
      }
      if (!this.startedThisTurn) {
        this.startedThisTurn = true;
        setImmediate(this.turnEnded);
      }
      const share = Math.ceil(out / ways);
      const n = Math.min(this.pending.length, this.options.batchMaxRecords, share >= SHARE_MIN ? share : Infinity);
      this.writing += n;
      const flight: Promise<void> = this.flush(n).finally(() => {
        this.writing -= n;
        this.flights.delete(flight);
        this.kick();
      });
      this.flights.add(flight);
    }
  }

  /** Kick again in the next event-loop turn (once however often asked). */
  private nextTurn(): void {
    if (this.deferred) return;
    this.deferred = true;
    setImmediate(() => {
      this.deferred = false;
      this.kick();
    });
  }

  private async flush(n: number): Promise<void> {
    const batch = this.pending.splice(0, n);
    // after the appends in flight: the chain takes this one in call order
    const first = this.chain.nextSeq();
    try {
      const entries = await this.chain.append(stamp(batch, first, this.host.clock.now()));
      if (entries[0] && entries[0].seq !== first) throw new Error(`audit chain moved under the writer (expected seq ${first}, got ${entries[0].seq})`);
    } catch (e) {
      this.log.error({ err: e, records: batch.length }, 'audit append failed; the actions it records are refused');
      for (const p of batch) p.reject(e);
      this.metrics.records.inc({ outcome: 'failed' }, batch.length);
      return;
    }
    this.metrics.commits.inc();
    this.metrics.records.inc({ outcome: 'committed' }, batch.length);
    const logRecords = this.options.logRecords;
    for (const p of batch) {
      if (logRecords) this.log.info({ audit: p.record }, 'RACI_AUDIT');
      p.resolve(p.record);
    }
    const seq = first + batch.length - 1;
    if (seq - this.lastCheckpointSeq >= this.options.checkpointEvery) {
      this.lastCheckpointSeq = seq;
      void this.checkpoint().catch((e: unknown) => this.log.error({ err: e }, 'audit checkpoint failed'));
    }
  }

  checkpoint(): Promise<AuditCheckpoint | undefined> {
    const run = this.cpChain.then(async () => {
      const head = this.chain.head();
      const last = this.chain.checkpoints().at(-1);
      if (head.seq === 0 || (last && last.seq >= head.seq)) return last;
      const cp = makeCheckpoint(this.host.id, head, this.key, this.host.clock.now());
      await this.chain.saveCheckpoint(cp);
      this.lastCheckpointSeq = Math.max(this.lastCheckpointSeq, cp.seq);
      this.metrics.checkpoints.inc({ kind: 'own' });
      this.log.info({ checkpoint: { origin: cp.origin, seq: cp.seq, hash: cp.hash, signature: cp.signature } }, 'RACI_AUDIT_CHECKPOINT');
      try {
        this.publish(cp);
      } catch (e) {
        this.log.warn({ err: e }, 'audit checkpoint not sent to peers');
      }
      return cp;
    });
    this.cpChain = run.catch(() => undefined);
    return run;
  }

  checkpoints(): AuditCheckpoint[] {
    return this.chain.checkpoints();
  }

  async witness(input: unknown): Promise<void> {
    const cp = checkCheckpoint(input);
    if (cp.origin === this.host.id) throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', `checkpoint ${cp.origin}@${cp.seq} claims this node's own chain`);
    const held = this.chain.witnessed(cp.origin);
    const pinned = held[0]?.publicKey;
    // the first key seen for an origin is the one its later checkpoints must be signed with
    if (pinned !== undefined && pinned !== cp.publicKey) throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', `checkpoint ${cp.origin}@${cp.seq} is signed with another key than its earlier ones`);
    const same = held.find((c) => c.seq === cp.seq);
    if (same) {
      if (same.hash !== cp.hash) {
        this.log.error({ origin: cp.origin, seq: cp.seq }, 'two different audit checkpoints for the same seq: that chain was rewritten');
        throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', `checkpoint ${cp.origin}@${cp.seq} differs from the one already witnessed`);
      }
      return;
    }
    await this.chain.saveWitnessed(cp);
    this.metrics.checkpoints.inc({ kind: 'witnessed' });
    this.log.debug({ origin: cp.origin, seq: cp.seq }, 'audit checkpoint witnessed');
  }

  witnessed(origin?: string): AuditCheckpoint[] {
    return this.chain.witnessed(origin);
  }

  query(filter: AuditQuery = {}): AuditPage {
    return queryRecords(this.chain, filter, this.options.maxScan);
  }

  verify(extra: readonly AuditCheckpoint[] = [], options: { deep?: boolean } = {}): AuditVerification {
    return verifyOwnChain(this.chain, this.host.id, this.key.publicKey, extra, options);
  }

  head(): { seq: number; hash: string } {
    const h = this.chain.head();
    return { seq: h.seq, hash: h.hash.toString('hex') };
  }

  /** Refuse new records, write the waiting ones, sign a last checkpoint. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.host.clock.clearTimeout(this.timer);
      while (this.flights.size > 0) await Promise.allSettled([...this.flights]);
      await this.checkpoint().catch((e: unknown) => this.log.error({ err: e }, 'final audit checkpoint failed'));
    })();
    return this.closing;
  }
}
