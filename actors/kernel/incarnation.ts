import { TroupeError, serializeError, type SerializedError, type TerminatedReason } from '../../protocol/index.js';
import type { Cell } from './cell.js';
import { MessageContext } from './context.js';
import type { Delivery } from './mailbox.js';
import { Meta } from './meta.js';
import { CellPersistence } from './persistence.js';
import { resolveSpec } from './spec.js';
import { KernelMessage } from './system-message.js';

/**
 * The lifecycle of a cell's incarnations: start (recovering a persistent actor's state),
 * suspend for a restart (keeping what was queued), restart after the backoff delay, and
 * terminate for good (children first; what was queued becomes dead letters; watchers learn).
 */

/** Start an incarnation: initial state (recovered when persistent), a dispatcher slot, its children, then the stash. */
export function startIncarnation(cell: Cell): void {
  // a new incarnation of a supervisor starts with a fresh restart budget, as in OTP
  cell.supervision = undefined;
  cell.timers = undefined;
  const b = cell.behaviour;
  const ctx = new MessageContext(cell, undefined, cell.incarnation);
  let state = b.initial ? b.initial(ctx) : cell.spec.initialState;
  const p = b.persistence;
  if (p) {
    cell.persistence ??= new CellPersistence(cell, p, cell.host.faults.journal(cell.path, cell.host.openJournal(p.key ?? cell.path, { snapshotEvery: p.snapshotEvery, keepSnapshots: p.keepSnapshots })));
    state = cell.persistence.recover(state);
  }
  cell.state = state;
  // the dispatcher slot is attached by the first message (cell.admit/tell)
  cell.stopRequested = false;
  cell.status = 'running';
  for (const c of cell.spec.children) cell.spawnChild(resolveSpec(c));
  if (b.signal && b.signalStarted !== false) cell.signal({ type: 'signal.started' });
  // already admitted (validated, counted): replayed as they are, never refused
  for (const d of cell.mailbox.takeStash()) cell.admit(d.message, d.meta);
}

/** Run a lifecycle signal handler whose outcome does not matter any more (the incarnation is going). */
function lastSignal(cell: Cell, signal: Parameters<NonNullable<Cell['behaviour']['signal']>>[1]): void {
  if (!cell.behaviour.signal) return;
  try {
    const r = cell.behaviour.signal(cell.state, signal, new MessageContext(cell, undefined, cell.incarnation));
    if (r instanceof Promise) r.catch(() => undefined);
  } catch (e) {
    cell.log.warn({ err: e, signal: signal.type }, 'signal handler threw while the actor went away');
  }
}

/** Stop the incarnation's slot and timers; returns what it had not started yet, in order. */
function endIncarnation(cell: Cell): Delivery[] {
  cell.timers?.close();
  cell.timers = undefined;
  if (cell.slot) cell.host.dispatcher.detach(cell.slot);
  cell.slot = undefined;
  cell.scheduled = false;
  return cell.mailbox.drain();
}

/**
 * The message an async handler was working on when the incarnation went away, if it still
 * needs handling: not a kernel message, and not an ask already answered (issue 10.15: its
 * asker has the reply, so it is neither redelivered nor a dead letter).
 */
function takeCurrent(cell: Cell): Delivery | undefined {
  const m = cell.currentMessage;
  const meta = cell.currentMeta;
  const d = cell.handling && !(m instanceof KernelMessage) && meta?.answered !== true ? { message: m, meta } : undefined;
  cell.clearCurrent();
  return d;
}

function stopChildren(cell: Cell, reason: TerminatedReason): void {
  if (!cell.hasChildren) return;
  const kids = [...cell.children.values()].reverse();
  for (const c of kids) terminate(c, reason, undefined, undefined);
}

/** Stop the current incarnation for a restart, keeping queued messages (and the failing one, unless poison). */
export function suspend(cell: Cell, failing: Delivery | undefined, error: unknown): void {
  if (cell.status !== 'running' && cell.status !== 'starting') return;
  cell.status = 'restarting';
  lastSignal(cell, { type: 'signal.restarting', ...(error === undefined ? {} : { error: serializeError(error) }) });
  stopChildren(cell, 'supervisor-stopped');
  const pending = endIncarnation(cell);
  const kept: Delivery[] = [];
  const inHand = takeCurrent(cell);
  if (inHand) kept.push(inHand); // interrupted mid-handler (a sibling's restart): handled again
  // an ask answered before the crash is done for its asker: handling it again would redo its work
  if (failing && failing.meta?.answered !== true) {
    const meta = failing.meta ?? new Meta(undefined, undefined, undefined);
    meta.attempts += 1;
    if (meta.attempts >= cell.spec.poisonAfter) {
      cell.host.deadLetter('poison', cell.ref.address, failing.message, meta, error);
      meta.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_FAILED', `message crashed ${cell.ref.address} ${meta.attempts} times; dead-lettered as poison`, { cause: error }));
    } else {
      kept.push({ message: failing.message, meta });
    }
  }
  for (const d of pending) kept.push(d);
  cell.mailbox.restash(kept);
}

/** Restart after the backoff delay; the timer is the cell's, so stopping it cancels the restart. */
export function restartAfter(cell: Cell, delayMs: number): void {
  if (delayMs <= 0) {
    resume(cell, 0);
    return;
  }
  cell.restartTimer = cell.host.clock.setTimeout(() => {
    cell.restartTimer = undefined;
    resume(cell, delayMs);
  }, delayMs);
}

/** Start the next incarnation, once the commits of the last one settled. */
function resume(cell: Cell, delayMs: number): void {
  if (cell.status !== 'restarting') return;
  const settled = cell.persistence?.settled();
  if (settled !== undefined) {
    // recover only once the old incarnation's commits settled
    void settled.then(() => resume(cell, delayMs));
    return;
  }
  cell.incarnation += 1;
  try {
    startIncarnation(cell);
  } catch (e) {
    // failing to start (e.g. a corrupt journal) is a crash of the new incarnation, one that
    // cannot be resumed: it never got a dispatcher slot to run in
    cell.status = 'running';
    cell.log.error({ err: e }, 'actor failed to start');
    cell.crashed(e, undefined, undefined, cell.incarnation, true);
    return;
  }
  cell.host.emit({ type: 'actor.restarted', address: cell.ref.address, incarnation: cell.incarnation, delayMs });
}

/** Stop for good: children first, then this; queued messages become dead letters; watchers learn. */
export function terminate(cell: Cell, reason: TerminatedReason, error: unknown, failing: Delivery | undefined): void {
  if (cell.status === 'stopped' || cell.status === 'stopping') return;
  const wasRunning = cell.status === 'running';
  cell.status = 'stopping';
  if (cell.restartTimer !== undefined) {
    cell.host.clock.clearTimeout(cell.restartTimer);
    cell.restartTimer = undefined;
  }
  if (wasRunning) lastSignal(cell, { type: 'signal.stopping' });
  stopChildren(cell, 'supervisor-stopped');
  const pending = endIncarnation(cell);
  cell.status = 'stopped';
  const inHand = takeCurrent(cell);
  const address = cell.ref.address;
  const replyErr = (): TroupeError => error instanceof TroupeError
    ? error
    : new TroupeError('TROUPE_ERR_ACTOR_STOPPED', `${address} stopped (${reason})`, error === undefined ? {} : { cause: error });
  if (failing) {
    cell.host.deadLetter('stopped', address, failing.message, failing.meta, error);
    failing.meta?.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_FAILED', `${address} failed: ${serializeError(error).message}`, { cause: error }));
  }
  const queued = inHand ? [inHand, ...pending] : pending;
  for (const d of cell.mailbox.takeStash()) queued.push(d);
  for (const d of queued) {
    if (d.message instanceof KernelMessage) continue;
    cell.host.deadLetter('stopped', address, d.message, d.meta, error);
    d.meta?.replyTo?.error(replyErr());
  }
  const parent = cell.parent;
  if (parent && parent.children.get(cell.name) === cell) {
    parent.children.delete(cell.name);
    parent.supervision?.forget(cell.name);
  }
  cell.host.unregister(cell);
  cell.host.releaseWatches(cell);
  const serialized: SerializedError | undefined = error === undefined ? undefined : serializeError(error);
  const sig = { type: 'signal.terminated' as const, ref: address, reason, ...(serialized ? { error: serialized } : {}) };
  for (const w of cell.watchers) w.terminated(sig);
  cell.watchers.clear();
  cell.host.emit({ type: 'actor.stopped', address, reason });
  if (reason === 'crashed') cell.log.warn({ reason, err: error }, 'actor stopped');
  else cell.log.debug({ reason }, 'actor stopped');
}
