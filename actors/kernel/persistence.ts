import type { PersistenceSpec } from './behaviour.js';
import type { Meta } from './meta.js';

/** The durable log a persistent actor journals to (implemented by storage/). */
export interface ActorJournal {
  recover(initial: any, apply: (s: any, e: any) => any): { state: any; seq: number };
  persist(event: unknown, stateAfter: () => unknown, extra?: { inboxDone?: string }): Promise<number>;
  /** Resolves once every persist issued so far has settled. */
  drain(): Promise<void>;
}

/** What a persistent actor's journal needs from its cell. */
export interface PersistentCell {
  state: unknown;
  readonly incarnation: number;
  /** A commit failed: the state holds an event that is not durable. */
  crashed(error: unknown, message: unknown, meta: Meta | undefined, inc: number, unresumable: boolean): void;
}

/**
 * Event sourcing for one persistent actor, across its incarnations: recovery on start, and
 * `persist`, which applies the event at once (the handler sees the new state) and journals it,
 * counting commits in flight so that a restart recovers only once they settled.
 */
export class CellPersistence {
  private inflight = 0;
  /** The state as it stands (a snapshot reads it); made once, not per persisted event. */
  private readonly stateNow: () => unknown;

  constructor(private readonly cell: PersistentCell, private readonly spec: PersistenceSpec<any, any>, private readonly journal: ActorJournal) {
    this.stateNow = () => cell.state;
  }

  /** The state of a new incarnation: the latest snapshot plus later events, folded over `initial`. */
  recover(initial: unknown): unknown {
    return this.journal.recover(initial, this.spec.apply).state;
  }

  /**
   * Resolves when every commit of an earlier incarnation settled (at once: undefined), so the
   * next one recovers what they wrote.
   */
  settled(): Promise<void> | undefined {
    return this.inflight > 0 ? this.journal.drain() : undefined;
  }

  persist(event: unknown, meta: Meta | undefined): Promise<void> {
    const cell = this.cell;
    const inc = cell.incarnation;
    cell.state = this.spec.apply(cell.state, event);
    const extra = meta?.id !== undefined && meta.onHandled ? { inboxDone: meta.id } : undefined;
    if (extra && meta) meta.onHandled = undefined; // the commit itself marks the durable message done
    this.inflight++;
    return this.journal.persist(event, this.stateNow, extra).then(
      () => { this.inflight--; },
      (err: unknown) => {
        this.inflight--;
        // State now holds an event that is not durable: crash so the supervisor recovers from disk.
        cell.crashed(err, undefined, undefined, inc, true);
        throw err;
      },
    );
  }
}
