import type { Logger } from 'pino';
import type { StoredTask } from '../../storage/index.js';

/**
 * Give back attempts that were claimed but never ran (the runtime is closing): each task is
 * pending again with the attempt uncounted, committed before the close resolves. A failed
 * write is logged; the attempt then stays counted, as after a kill -9.
 *
 * @example this.closing = giveBack(unrun, (t) => store.put(t, {}), log);
 */
export function giveBack(unrun: StoredTask[], persist: (t: StoredTask) => Promise<unknown>, log: Logger): Promise<void> {
  for (const t of unrun) {
    t.status = 'pending';
    t.attempts -= 1;
  }
  return Promise.all(unrun.map((t) => persist(t).catch((e: unknown) => log.warn({ err: e, task: t.id }, 'could not give back a claimed attempt')))).then(() => undefined);
}
