/** `Major.Minor` with an optional patch (which negotiation ignores). */
const VERSION = /^(\d{1,4})\.(\d{1,4})(?:\.\d{1,6})?$/;

/**
 * The A2A version a request asks for, from its `A2A-Version` header: undefined when absent
 * or empty (0.3, spec 3.6.2), else `Major.Minor` with any patch number dropped (patch
 * versions are not considered in negotiation, spec 3.6), else the value as sent (at most 32
 * characters), which no interface supports.
 *
 * @example
 * requestedVersionOf({ 'a2a-version': '1.0.2' }); // '1.0'
 */
export function requestedVersionOf(headers: Record<string, unknown>): string | undefined {
  const raw = headers['a2a-version'];
  if (typeof raw !== 'string') return undefined;
  const v = raw.trim().slice(0, 32);
  if (v === '') return undefined;
  const m = VERSION.exec(v);
  return m ? `${Number(m[1])}.${Number(m[2])}` : v;
}
