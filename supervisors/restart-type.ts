/**
 * OTP restart types, a property of each child spec:
 * - permanent: always restarted, after a crash, a shutdown or a normal exit;
 * - transient: restarted only after a crash (an abnormal exit), not after a normal exit or a
 *   shutdown;
 * - temporary: never restarted.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/**
 * How a child ended: a crash (an error), a normal exit (it stopped itself), or a shutdown:
 * a supervisor that gave up past its restart intensity exits with reason `shutdown`, as in
 * OTP, so a transient supervisor is then not restarted by its own parent.
 */
export type ExitKind = 'crash' | 'normal' | 'shutdown';

/** @example shouldRestart('transient', 'shutdown') // false */
export function shouldRestart(type: RestartType, exit: ExitKind): boolean {
  if (type === 'temporary') return false;
  if (type === 'transient') return exit === 'crash';
  return true;
}
