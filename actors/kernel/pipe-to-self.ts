import type { Cell } from './cell.js';

/**
 * `ctx.pipeToSelf`: the settled promise, mapped, becomes a message to the actor (not to the
 * incarnation that piped: after a restart the new one receives it, as in Akka; once the actor
 * stopped it is a dead letter). It bypasses the mailbox capacity and is ordered like any
 * other message once queued. A failure with no `onErr`, or a mapper that throws, fails the
 * incarnation that piped, as a throw in its handler would; when that incarnation is gone the
 * failure is only logged, since its work is gone too.
 */
export function pipeToSelf<T>(cell: Cell, inc: number, promise: PromiseLike<T>, onOk: (value: T) => unknown, onErr?: (error: unknown) => unknown): void {
  const fail = (error: unknown): void => {
    if (inc === cell.incarnation && cell.status === 'running') cell.failOutside(error, inc);
    else cell.log.warn({ err: error }, 'pipeToSelf failed after the incarnation that piped ended');
  };
  const deliver = (map: () => unknown): void => {
    let message: unknown;
    try {
      message = map();
    } catch (e) {
      fail(e);
      return;
    }
    if (message !== undefined) cell.tellSelf(message);
  };
  Promise.resolve(promise).then(
    (value) => deliver(() => onOk(value)),
    (error: unknown) => (onErr === undefined ? fail(error) : deliver(() => onErr(error))),
  );
}
