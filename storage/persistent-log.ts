import { z } from 'zod';
import { TroupeError, parseOrThrow } from '../protocol/index.js';
import { checkKey, type Journal } from './journal.js';
import { corruptRecord } from './records.js';

const optionsSchema = z.strictObject({
  snapshotEvery: z.number().int().min(1).max(1_000_000_000).default(1000),
  keepSnapshots: z.number().int().min(1).max(100).default(2),
});

/**
 * How often a {@link PersistentLog} snapshots and how many snapshots it keeps.
 *
 * - `snapshotEvery` (default 1000): snapshot after this many events, then compact.
 * - `keepSnapshots` (default 2): snapshots kept; events after the oldest kept one are kept
 *   too, so a corrupt latest snapshot can be skipped. With 1 there is no such fallback.
 */
export type PersistenceOptions = z.input<typeof optionsSchema>;

/** What {@link PersistentLog.recover} returns. */
export interface Recovered<S> {
  /** State after the snapshot and every later event. */
  state: S;
  /** Sequence number of the last event folded into `state` (0 when there were none). */
  seq: number;
  /** How many events were applied on top of the snapshot. */
  replayed: number;
}

/**
 * The event-sourcing log of one persistent actor over a {@link Journal} (LMDB, or the
 * in-memory twin): events under `(key, seq)` plus periodic snapshots, compacted after each.
 *
 * `persist` is pipelined: it assigns the next sequence number at once and resolves after the
 * commit, so a caller can issue many without awaiting each; they commit, and resolve, in
 * order. Only one live log per key: a restarted actor reuses its log (or awaits
 * {@link PersistentLog.drain} of the old one before making a new one).
 *
 * @example
 * const log = new PersistentLog<number, { add: number }>(new LmdbJournal(store), 'user/counter', { snapshotEvery: 500 });
 * let { state } = log.recover(0, (s, e) => s + e.add);
 * state += 2;
 * await log.persist({ add: 2 }, () => state);
 */
export class PersistentLog<S, E> {
  /** The persistence key (first element of every journal and snapshot key). */
  readonly key: string;
  private readonly journal: Journal;
  private readonly hooks: LogHooks | undefined;
  private readonly every: number;
  private readonly keep: number;

  /** Last assigned sequence number (committed or in flight). */
  private last = 0;
  /** Lowest journal sequence number that may still exist; compaction deletes from here. */
  private low = 1;
  /** Sequence numbers of the snapshots on disk, ascending. */
  private snaps: number[] = [];
  /** Sequence number the snapshot schedule counts from. */
  private lastSnap = 0;
  /** Snapshots found corrupt by recover(): deleted with the next snapshot. */
  private corruptSnaps: number[] = [];
  /**
   * Events issued and not yet settled to their callers, oldest first from `head`: recover()
   * folds them in. They settle a commit group at a time, in order.
   */
  private inflight: E[] = [];
  private head = 0;
  /** The commit group the next persist may join. */
  private group?: CommitGroup;
  /** Settles after every persist issued so far (in order). */
  private tail: Promise<unknown> = Promise.resolve();
  /** Seq of the last persist resolved to its caller. */
  private delivered = 0;
  private readonly nextDelivered = (): number => ++this.delivered;
  private failed?: TroupeError;
  /**
   * What the constructor's scan found, while nothing has been written since: the recover()
   * that follows an open (every spawn) reuses it instead of reading the same keys again.
   */
  private scanned?: { lastOnDisk: number };

  /** Sequence number of the last persisted (or in-flight) event. */
  get seq(): number {
    return this.last;
  }

  constructor(journal: Journal, key: string, options: PersistenceOptions = {}, hooks?: LogHooks) {
    const parsed = parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', `invalid persistence options for ${key}`);
    checkKey(key);
    if (journal.closed) throw journal.closedError();
    this.journal = journal;
    this.hooks = hooks;
    this.key = key;
    this.every = parsed.snapshotEvery;
    this.keep = parsed.keepSnapshots;
    this.scanned = this.scanHead();
  }

  /**
   * Rebuild the state: the latest valid snapshot, then every later event in order, then any
   * events still in flight. Synchronous. A journal record that fails validation throws
   * TROUPE_ERR_STORAGE_CORRUPT_RECORD naming key and seq; a corrupt snapshot is skipped
   * (logged) for an older one when the journal still covers the gap.
   *
   * The method's own type parameters default to the log's, so a `PersistentLog<unknown,
   * unknown>` also serves callers that are generic in the state type.
   *
   * @example
   * const { state, seq } = log.recover({ items: [] }, (s, e) => ({ items: [...s.items, e] }));
   */
  recover<RS = S, RE = E>(initial: RS, apply: (s: RS, e: RE) => RS): Recovered<RS> {
    if (this.journal.closed) throw this.journal.closedError();
    const { lastOnDisk } = this.scanned ?? this.scanHead();
    this.scanned = undefined;
    const { base, state: baseState, firstError, corrupt } = this.pickBase<RS>(initial);
    // A corrupt snapshot must not count as kept, or compaction could cut the journal back to it.
    this.corruptSnaps = corrupt;
    this.snaps = this.snaps.filter((x) => !corrupt.includes(x));
    if (firstError) {
      this.journal.logger.warn({ key: this.key, err: firstError, fallbackSeq: base }, 'skipped a corrupt snapshot; recovering from an older one');
    }
    let state = baseState;
    let seq = base;
    let replayed = 0;
    // events on disk reach lastOnDisk at most: none to replay past it (a new key reads nothing)
    if (lastOnDisk > base) for (const rec of this.journal.replay(this.key, base + 1)) {
      const expected = seq + 1;
      if (rec.seq !== expected) {
        throw corruptRecord('journal', this.key, expected, `missing; the journal jumps from seq ${seq} to ${rec.seq}`);
      }
      state = apply(state, rec.event as RE);
      seq = expected;
      replayed++;
    }
    if (seq < lastOnDisk) {
      throw corruptRecord('journal', this.key, seq + 1, `missing; snapshots or events reach seq ${lastOnDisk}`);
    }
    // Events issued before this call and not yet settled: fold the ones the disk lacks.
    const firstInflight = this.last - (this.inflight.length - this.head) + 1;
    for (let i = this.head; i < this.inflight.length; i++) {
      const s = firstInflight + (i - this.head);
      if (s !== seq + 1) continue;
      state = apply(state, this.inflight[i] as unknown as RE);
      seq = s;
      replayed++;
    }
    this.lastSnap = base;
    if (this.head === this.inflight.length) {
      // Nothing in flight: the disk is the whole truth again. A failed commit's sequence
      // numbers are free again, and the failure is over.
      this.last = seq;
      this.failed = undefined;
      this.group = undefined;
      this.tail = Promise.resolve();
    } else {
      this.last = Math.max(seq, this.last);
    }
    return { state, seq, replayed };
  }

  /**
   * Append `event`; resolves with its sequence number once committed. Every `snapshotEvery`
   * events the same commit also stores a snapshot of `stateAfter()` and compacts. With
   * `extra.inboxDone`, the same commit marks that inbox entry done. Rejects with
   * TROUPE_ERR_STORAGE_WRITE (and the log refuses further events until the next
   * `recover`) or TROUPE_ERR_STORAGE_CLOSED.
   *
   * @example
   * const seq = await log.persist({ type: 'item.added', item }, () => state, { inboxDone: envelope.id });
   */
  persist(event: E, stateAfter: () => S, extra?: { inboxDone?: string }): Promise<number> {
    this.scanned = undefined;
    if (this.journal.closed) return Promise.reject(this.journal.closedError());
    if (this.failed) return Promise.reject(this.failed);
    const seq = this.last + 1;
    let snapshot: { state: S } | undefined;
    if (seq - this.lastSnap >= this.every) {
      try {
        snapshot = { state: stateAfter() };
      } catch (e) {
        return Promise.reject(e); // the caller's bug, not a storage failure
      }
    }
    let written: Promise<unknown>;
    try {
      written = snapshot || extra?.inboxDone !== undefined
        ? this.persistAtomically(seq, event, snapshot, extra?.inboxDone)
        : this.journal.append(this.key, seq, event);
    } catch (cause) {
      // Nothing was written (the journal refuses at once what it cannot store), so the
      // sequence number is not used up.
      return Promise.reject(this.journal.writeError(`persist ${JSON.stringify(this.key)} seq ${seq}`, cause));
    }
    if (this.head === this.inflight.length) this.hooks?.busy(this);
    this.last = seq;
    this.inflight.push(event);
    // lmdb-js hands every plain put of one transaction the same commit promise; such persists
    // share a group, and so one `then` per transaction rather than per event.
    let g = this.group;
    if (!g || g.commit !== written) g = this.group = this.openGroup(written, seq);
    g.count++;
    // Callbacks on one promise run in the order they were added, and groups settle in
    // order, so a shared counter hands each caller its own seq without a closure per event.
    const result = g.ordered.then(this.nextDelivered);
    this.tail = result;
    return result;
  }

  /**
   * A commit group settles only after the group before it: lmdb-js commits in issue order
   * but may resolve a big event-turn batch's later transaction first. A failed commit fails
   * its group and every later one (their events may be on disk; recover() sorts that out).
   */
  private openGroup(commit: Promise<unknown>, firstSeq: number): CommitGroup {
    const g: CommitGroup = { commit, count: 0, ordered: undefined as unknown as Promise<void> };
    const prev = this.tail;
    g.ordered = Promise.all([prev, commit]).then(
      () => {
        this.delivered = firstSeq - 1;
        this.advance(g.count);
      },
      (cause: unknown) => {
        this.advance(g.count);
        const err = this.journal.writeError(`commit of ${JSON.stringify(this.key)} from seq ${firstSeq}`, cause);
        // Refuse new events until recover(): later ones would leave a gap.
        this.failed ??= err;
        throw err;
      },
    );
    return g;
  }

  private advance(n: number): void {
    this.head += n;
    if (this.head === this.inflight.length) {
      this.inflight = [];
      this.head = 0;
      this.hooks?.idle(this);
    } else if (this.head >= 4096 && this.head * 2 >= this.inflight.length) {
      this.inflight = this.inflight.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Resolves when every persist issued so far has settled (committed or failed).
   *
   * @example
   * await oldLog.drain();
   */
  drain(): Promise<void> {
    return this.tail.then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Delete every event and snapshot of this key, once the persists issued so far settled
   * (for an actor removed for good). The log must not be used afterwards.
   *
   * @example await log.purge();
   */
  async purge(): Promise<void> {
    this.scanned = undefined;
    await this.drain();
    await this.journal.purge(this.key);
  }

  /** Snapshot (and maybe inbox) writes: one atomic journal write, compaction included. */
  private persistAtomically(seq: number, event: E, snapshot: { state: S } | undefined, inboxDone: string | undefined): Promise<unknown> {
    let kept = this.snaps;
    let pruned: number[] = [];
    let cutoff = 0;
    if (snapshot) {
      const all = [...this.snaps, seq];
      pruned = all.slice(0, Math.max(0, all.length - this.keep));
      kept = all.slice(pruned.length);
      cutoff = kept[0]!;
      pruned.push(...this.corruptSnaps);
    }
    // Throws (to persist) before anything is written when a value cannot be stored.
    const p = this.journal.write(this.key, {
      events: [{ seq, event }],
      ...(snapshot ? { snapshot: { seq, state: snapshot.state }, deleteSnapshots: pruned } : {}),
      ...(snapshot && cutoff >= this.low ? { deleteEventsTo: cutoff } : {}),
      ...(inboxDone !== undefined ? { inboxDone } : {}),
    });
    if (snapshot) {
      this.snaps = kept;
      this.corruptSnaps = [];
      this.lastSnap = seq;
      if (cutoff >= this.low) this.low = cutoff + 1;
    }
    return p;
  }

  /** Read what the journal holds for this key: snapshot seqs, event bounds. Keys only, no values. */
  private scanHead(): { lastOnDisk: number } {
    if (this.journal.startsFresh?.(this.key)) {
      // a new key (this log writes from seq 1): nothing to read
      this.snaps = [];
      this.low = 1;
      this.lastSnap = 0;
      return { lastOnDisk: 0 };
    }
    this.snaps = this.journal.snapshotSeqs(this.key);
    const lastOnDisk = this.journal.highestSeq(this.key);
    // nothing on disk (a new key): no lowest event to look for
    this.low = lastOnDisk === 0 ? 1 : this.journal.lowestSeq(this.key) ?? lastOnDisk + 1;
    this.lastSnap = this.snaps.length > 0 ? this.snaps[this.snaps.length - 1]! : 0;
    this.last = Math.max(this.last, lastOnDisk);
    return { lastOnDisk };
  }

  /** The newest snapshot that is valid and that the journal continues from. */
  private pickBase<RS>(initial: RS): { base: number; state: RS; firstError?: TroupeError; corrupt: number[] } {
    let firstError: TroupeError | undefined;
    const corrupt: number[] = [];
    const journalCovers = (b: number): boolean => this.low <= b + 1;
    for (let i = this.snaps.length - 1; i >= 0; i--) {
      const s = this.snaps[i]!;
      // An older snapshot only helps if the journal still holds every event after it.
      if (i < this.snaps.length - 1 && !journalCovers(s)) break;
      try {
        const rec = this.journal.loadSnapshot(this.key, s);
        if (rec === undefined) throw corruptRecord('snapshots', this.key, s, 'missing');
        return { base: s, state: rec.state as RS, firstError, corrupt };
      } catch (e) {
        if (!(e instanceof TroupeError)) throw e;
        firstError ??= e;
        corrupt.push(s);
        this.journal.logger.error({ key: this.key, seq: s, err: e }, 'corrupt snapshot');
      }
    }
    if (journalCovers(0)) return { base: 0, state: initial, firstError, corrupt };
    throw firstError ?? corruptRecord('snapshots', this.key, this.low - 1, `no snapshot covers events up to seq ${this.low - 1}, which were compacted`);
  }
}

/**
 * Told when a log gets its first commit in flight and when its last one settled, so that a
 * registry of logs keeps a log only while it has commits in flight (see `JournalRegistry`).
 */
export interface LogHooks {
  busy(log: PersistentLog<unknown, unknown>): void;
  idle(log: PersistentLog<unknown, unknown>): void;
}

/** Persists that share one commit promise. */
interface CommitGroup {
  commit: Promise<unknown>;
  count: number;
  /** Settles after `commit` and after the previous group. */
  ordered: Promise<void>;
}
