import { TroupeError } from '../protocol/index.js';

/**
 * Deepest nesting of arrays and maps a peer frame may carry. The HTTP edge admits JSON 64
 * levels deep; an envelope and its frame wrap that in a few more levels, so this leaves room
 * for what a gateway request can hold while keeping every recursive walk downstream
 * (msgpack, JSON, validation, the journal) far from the stack limit.
 */
export const MAX_FRAME_DEPTH = 128;

let counters = new Uint32Array(MAX_FRAME_DEPTH + 2);

/**
 * True when the msgpack value in `bytes` nests arrays or maps deeper than `max` levels.
 * Reads only element headers (strings, binaries and extensions are skipped by their length)
 * and keeps one counter per open level, so a hostile frame costs a bounded loop, never a
 * recursion. Malformed bytes are left for the decoder to refuse.
 *
 * @example
 * msgpackDepthExceeds(encode([[[1]]]), 2); // true
 */
export function msgpackDepthExceeds(bytes: Uint8Array, max: number = MAX_FRAME_DEPTH): boolean {
  const len = bytes.length;
  if (len <= max) return false; // every level takes at least one byte
  // one counter per level; the scan never re-enters itself, so the array is shared
  if (counters.length < max + 2) counters = new Uint32Array(max + 2);
  const left = counters;
  let depth = 0;
  left[0] = 1;
  let pos = 0;
  while (pos < len) {
    while (left[depth] === 0) {
      if (depth === 0) return false;
      depth--;
    }
    left[depth]!--;
    const b = bytes[pos]!;
    let n = -1; // elements of a container, or -1 for a scalar
    if (b <= 0x7f || b >= 0xe0) pos += 1;
    else if (b <= 0x8f) { n = (b & 0x0f) * 2; pos += 1; }
    else if (b <= 0x9f) { n = b & 0x0f; pos += 1; }
    else if (b <= 0xbf) pos += 1 + (b & 0x1f);
    else {
      switch (b) {
        case 0xc0: case 0xc1: case 0xc2: case 0xc3: pos += 1; break;
        case 0xc4: case 0xd9: pos += 2 + (bytes[pos + 1] ?? 0); break;
        case 0xc5: case 0xda: pos += 3 + u16(bytes, pos + 1); break;
        case 0xc6: case 0xdb: pos += 5 + u32(bytes, pos + 1); break;
        case 0xc7: pos += 3 + (bytes[pos + 1] ?? 0); break;
        case 0xc8: pos += 4 + u16(bytes, pos + 1); break;
        case 0xc9: pos += 6 + u32(bytes, pos + 1); break;
        case 0xca: case 0xce: case 0xd2: pos += 5; break;
        case 0xcb: case 0xcf: case 0xd3: pos += 9; break;
        case 0xcc: case 0xd0: pos += 2; break;
        case 0xcd: case 0xd1: pos += 3; break;
        case 0xd4: pos += 3; break;
        case 0xd5: pos += 4; break;
        case 0xd6: pos += 6; break;
        case 0xd7: pos += 10; break;
        case 0xd8: pos += 18; break;
        case 0xdc: n = u16(bytes, pos + 1); pos += 3; break;
        case 0xdd: n = u32(bytes, pos + 1); pos += 5; break;
        case 0xde: n = u16(bytes, pos + 1) * 2; pos += 3; break;
        case 0xdf: n = u32(bytes, pos + 1) * 2; pos += 5; break;
        default: pos += 1;
      }
    }
    if (n >= 0) {
      if (depth + 1 > max) return true;
      depth++;
      left[depth] = n;
    }
  }
  return false;
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) * 0x1000000) + (((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0));
}

/** Levels a batch or durable frame adds around an envelope (frame map, list, envelope map). */
export const ENVELOPE_FRAME_LEVELS = 2;

/**
 * True when `value` nests arrays or objects deeper than `max` levels: the same rule as
 * {@link msgpackDepthExceeds}, on a value not packed yet. Iterative, and it stops at the
 * first level too deep.
 *
 * @example
 * valueDepthExceeds({ a: [[1]] }, 2); // true
 */
export function valueDepthExceeds(value: unknown, max: number = MAX_FRAME_DEPTH): boolean {
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    if (d + 1 > max) return true;
    const items = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const x of items) if (typeof x === 'object' && x !== null) stack.push({ v: x, d: d + 1 });
  }
  return false;
}

/**
 * True when `value` is known to nest at most one level: a scalar, or a plain object or an
 * array whose own values are all scalars (strings, numbers, booleans, null, undefined,
 * bigints). False means "not known" (anything nested, a class instance, a Map, a Date, a
 * function), never "too deep". A frame whose envelopes all carry such payloads is far inside
 * {@link MAX_FRAME_DEPTH}, so its packed bytes need no depth scan.
 *
 * @example
 * isShallow({ type: 'bench.inc', i: 1, s: 'x' }); // true
 * isShallow({ a: { b: 1 } }); // false
 */
export function isShallow(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'function';
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!isScalar(value[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const o = value as Record<string, unknown>;
  for (const k in o) if (!isScalar(o[k])) return false;
  return true;
}

function isScalar(v: unknown): boolean {
  const t = typeof v;
  return v === null || (t !== 'object' && t !== 'function');
}

/** The coded refusal of a message to `node` that nests deeper than a frame may. */
export function tooDeep(node: string): TroupeError {
  return new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `a message to '${node}' nests arrays or objects deeper than ${MAX_FRAME_DEPTH - ENVELOPE_FRAME_LEVELS} levels`, { details: { node } });
}
