/**
 * The one file that talks to nact. nact runs each actor incarnation and schedules its turns
 * (a cell dispatches a turn token; nact runs it on its own schedule, one turn at a time per
 * actor); troupe keeps the actor's identity (address, state, supervision) and its mailbox in
 * its cell across incarnations.
 *
 * Incarnations are spawned flat under the nact system root with unique names: troupe keeps
 * its own tree (it must stop children first and tell watchers), and a flat nact tree keeps
 * nact's per-dispatch path walk short.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// nact ships CommonJS without types for these entry points.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nact = require('nact') as {
  start: (...ext: unknown[]) => NactRef;
  spawn: (parent: NactRef, f: NactFn, name?: string, props?: Record<string, unknown>) => NactRef;
  dispatch: (ref: NactRef, msg: unknown) => void;
  stop: (ref: NactRef) => void;
};

export type NactRef = { system: { name: string }; path?: unknown; name?: string };
export type NactFn = (state: unknown, msg: unknown) => unknown;

/** A nact actor system. */
export function startSystem(name: string): NactRef {
  return nact.start({ name });
}

export function stopSystem(system: NactRef): void {
  nact.stop(system);
}

/** Spawn one incarnation. */
export function spawnIncarnation(system: NactRef, name: string, f: NactFn): NactRef {
  return nact.spawn(system, f, name);
}

export const dispatch = nact.dispatch;

/**
 * Stop an incarnation. What it had not started yet is not read from nact (an idle actor's
 * next message is parked in a setImmediate that stop cancels): the cell keeps that record.
 */
export function stopIncarnation(ref: NactRef): void {
  nact.stop(ref);
}
