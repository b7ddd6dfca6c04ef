/**
 * Loopback checks, shared by the gateway (may it bind without API keys?) and the transport
 * (may a peer join without a secret?). Literal addresses only: a hostname such as
 * `127.evil.example` is not loopback, whatever it starts with.
 */

/**
 * True for 127.0.0.0/8, ::1 and their IPv4-mapped forms.
 *
 * @example isLoopbackAddress('::ffff:127.0.0.1') // true
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/**
 * A host to bind: a loopback address, or the name `localhost`.
 *
 * @example isLoopbackHost('127.evil.example') // false
 */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || isLoopbackAddress(host);
}
