/**
 * OTP restart types, a property of each child spec:
 * - permanent: always restarted, after a crash or a normal exit;
 * - transient: restarted only after a crash, not after a normal exit;
 * - temporary: never restarted.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** How a child ended: a crash (an error) or a normal exit (it stopped itself). */
export type ExitKind = 'crash' | 'normal';

/** @example shouldRestart('transient', 'normal') // false */
export function shouldRestart(type: RestartType, exit: ExitKind): boolean {
  if (type === 'temporary') return false;
  if (type === 'transient') return exit === 'crash';
  return true;
}
