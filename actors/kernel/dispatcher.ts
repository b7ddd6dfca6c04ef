/**
 * Dispatchers schedule actor turns, nothing more. nact schedules turns; troupe's cells own
 * the mailbox, the stash, supervision, persistence and delivery. A cell asks its dispatcher
 * for a turn when a message arrives to an idle actor; the dispatcher later runs the cell's
 * turn function, which handles up to `throughput` queued messages taken from the cell's own
 * mailbox.
 */
import { createRequire } from 'node:module';

/** An incarnation's slot in the dispatcher: opaque to cells. */
export type TurnSlot = object;

/** Schedules the turns of actor incarnations. */
export interface Dispatcher {
  /** A slot for one incarnation whose turns run `turn`. */
  attach(turn: () => unknown): TurnSlot;
  /** Run one turn of the slot's incarnation soon (after the current one, if any). */
  schedule(slot: TurnSlot): void;
  /** The incarnation is gone: a scheduled turn that has not run is dropped. */
  detach(slot: TurnSlot): void;
  /** Stop scheduling anything (node shutdown). */
  close(): void;
}

const require = createRequire(import.meta.url);
// nact ships CommonJS without types for these entry points.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nact = require('nact') as {
  start: (...ext: unknown[]) => NactRef;
  spawn: (parent: NactRef, f: (state: unknown, msg: unknown) => unknown, name?: string) => NactRef;
  dispatch: (ref: NactRef, msg: unknown) => void;
  stop: (ref: NactRef) => void;
};

type NactRef = { system: { name: string }; path?: unknown; name?: string };

/** What a slot dispatches to its nact actor: "take a turn"; the messages stay in the cell's mailbox. */
const TURN = Symbol('turn');
const nactDispatch = nact.dispatch;

/**
 * The nact-backed dispatcher: one nact actor per incarnation, spawned flat under the nact
 * system root with a unique name (troupe keeps its own tree: it must stop children first and
 * tell watchers, and a flat nact tree keeps nact's per-dispatch path walk short). A turn is a
 * nact message whose handler is the cell's turn function; nact runs it in a setImmediate, one
 * at a time per actor, and awaits the promise an async turn returns.
 *
 * @example
 * const d = new NactDispatcher('troupe-n1');
 * const slot = d.attach(() => cell.turn());
 * d.schedule(slot);
 */
export class NactDispatcher implements Dispatcher {
  private readonly system: NactRef;
  private names = 0;

  constructor(name: string) {
    this.system = nact.start({ name });
  }

  attach(turn: () => unknown): TurnSlot {
    return nact.spawn(this.system, turn, `a${(this.names++).toString(36)}`);
  }

  schedule(slot: TurnSlot): void {
    nactDispatch(slot as NactRef, TURN);
  }

  /**
   * An idle actor's next turn is parked in a setImmediate that stop cancels; the cell, not
   * nact, keeps what the incarnation had not started.
   */
  detach(slot: TurnSlot): void {
    nact.stop(slot as NactRef);
  }

  close(): void {
    nact.stop(this.system);
  }
}
