/**
 * The one file that talks to nact. nact owns each actor incarnation's mailbox and schedules
 * its messages; troupe keeps the actor's identity (address, state, supervision) in its cell
 * across incarnations.
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
  dispatch: (ref: NactRef, msg: unknown, sender?: unknown) => void;
  stop: (ref: NactRef) => void;
};
const systemMap = require('nact/lib/system-map') as { find: (systemName: string, ref: NactRef) => NactActor | undefined };

export type NactRef = { system: { name: string }; path?: unknown; name?: string };
export type NactFn = (state: unknown, msg: unknown, ctx: { sender: unknown }) => unknown;

interface NactActor {
  mailbox: { toArray(): Array<{ message: unknown; sender: unknown }> };
  stopped: boolean;
}

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
 * Stop an incarnation and return the messages still in its mailbox, in order. nact's public
 * API only exposes the mailbox to its own crash handler; troupe needs it whenever it stops an
 * incarnation (restart, escalation, stop), so that nothing queued is silently dropped.
 */
export function drainAndStop(ref: NactRef): Array<{ message: unknown; sender: unknown }> {
  const actor = systemMap.find(ref.system.name, ref);
  const pending = actor && !actor.stopped ? actor.mailbox.toArray() : [];
  nact.stop(ref);
  return pending;
}
