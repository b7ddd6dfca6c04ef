import { isUtf8 } from 'node:buffer';
import { isEnvelopeAddress, type Envelope } from '../protocol/index.js';
import { MAX_FRAME_DEPTH } from './depth.js';

/**
 * The fast path of the receive side: a `batch` frame of plain envelopes read in one pass,
 * its bytes walked once. The general path scans the frame's depth, decodes it (msgpackr)
 * and validates every envelope again; this does all three as it reads, and makes each
 * envelope in one shape (fields read in any order, the object made once they are known).
 * A `to`, `from`, `type` or `replyTo` whose bytes equal the last one read is the same
 * string again: nothing new to make or match against the address pattern, and the refs
 * cache finds it by identity.
 *
 * It only accepts: anything it is not sure of (another frame type, an extra or repeated
 * envelope key, a header string that is not ASCII, msgpack it does not read: binaries,
 * extensions, float32, 64-bit integers, invalid UTF-8, a `__proto__` key, nesting past
 * {@link MAX_FRAME_DEPTH}) gives `undefined`, and the general path, which has the last word,
 * decodes and judges the frame. A property test holds the two together: whatever this
 * returns, the general path returns too.
 */

// msgpack of `t: 'batch', envs: ` after the map header of a two-key map, up to the array
// header (msgpackr writes the header as map16, frames.ts as a fixmap)
const PREFIX = [0xa1, 0x74, 0xa5, 0x62, 0x61, 0x74, 0x63, 0x68, 0xa4, 0x65, 0x6e, 0x76, 0x73];

// envelope keys, by a code of their bytes
const K_ID = 1, K_TO = 2, K_TYPE = 3, K_CREATED = 4, K_PAYLOAD = 5, K_FROM = 6, K_REPLY = 7, K_CORR = 8, K_TRACE = 9, K_EXPIRES = 10, K_DURABLE = 11;

/** Buffer's own slicers, as msgpackr uses them (toString would look the encoding up each time). */
type Source = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

const EMPTY = Buffer.alloc(0) as Source;
let src = EMPTY;
let pos = 0;
let end = 0;
/** Set when the frame holds something this reader leaves to the general path. */
let bad = false;

/**
 * A header string that repeats from envelope to envelope: the last one read. An address
 * that differs from it only after its last slash (the reply addresses of one node's asks)
 * is known to be valid without the pattern: see {@link Repeat.sibling}.
 */
class Repeat {
  text = '';
  /** Index of the last slash of `text` when a segment follows the root there, else -1. */
  stem = -1;

  /** The last string again, if `src[start..start+len)` holds its bytes. */
  read(start: number, len: number): string | undefined {
    const t = this.text;
    if (t.length !== len) return undefined;
    for (let i = 0; i < len; i++) if (t.charCodeAt(i) !== src[start + i]) return undefined;
    return t;
  }

  /**
   * True when the ASCII bytes at `start` are the remembered address up to and including its
   * last slash, then one more segment (no slash, no whitespace): such an address is valid
   * exactly as the remembered one is (`troupe://<node>/<root>(/<segment>)*`).
   */
  sibling(start: number, len: number): boolean {
    const stem = this.stem;
    if (stem < 0 || len <= stem + 1) return false;
    const t = this.text;
    for (let i = 0; i <= stem; i++) if (t.charCodeAt(i) !== src[start + i]) return false;
    for (let i = start + stem + 1; i < start + len; i++) {
      const c = src[i]!;
      if (c === 0x2f || c === 0x20 || (c >= 0x09 && c <= 0x0d)) return false;
    }
    return true;
  }

  remember(text: string, address: boolean): string {
    this.text = text;
    this.stem = -1;
    if (address) {
      // troupe://<node>/<root>/...: a segment follows the root from the fourth slash on
      let slashes = 0;
      let last = -1;
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x2f) { slashes++; last = i; }
      if (slashes >= 4) this.stem = last;
    }
    return text;
  }
}

const toRepeat = new Repeat();
const fromRepeat = new Repeat();
const typeRepeat = new Repeat();
const replyRepeat = new Repeat();

/**
 * Short strings of payloads (map keys, and values such as a message type), cached by their
 * bytes: a stream of one message type repeats them, and a repeat is then neither made nor,
 * for a queued message, kept once per message.
 */
const TEXT_SLOTS = 4096;
const TEXT_MAX = 32;
const texts: string[] = new Array<string>(TEXT_SLOTS).fill('');

/**
 * The envelopes of a clean `batch` frame, or `undefined` for the general path.
 *
 * @example
 * const envs = readCleanBatch(bytes); // undefined: depth scan, decode and parseFrame decide
 */
export function readCleanBatch(bytes: Buffer): Envelope[] | undefined {
  try {
    return read(bytes);
  } finally {
    src = EMPTY; // the frame may be large: not kept past its read
  }
}

function read(bytes: Buffer): Envelope[] | undefined {
  const head = bytes[0] === 0x82 ? 1 : bytes[0] === 0xde && bytes[1] === 0 && bytes[2] === 2 ? 3 : 0;
  if (head === 0 || bytes.length < head + PREFIX.length + 2) return undefined;
  for (let i = 0; i < PREFIX.length; i++) if (bytes[head + i] !== PREFIX[i]) return undefined;
  src = bytes as Source;
  pos = head + PREFIX.length;
  end = bytes.length;
  bad = false;
  let count: number;
  const h = bytes[pos++]!;
  if ((h & 0xf0) === 0x90) count = h & 0x0f;
  else if (h === 0xdc) count = u16();
  else if (h === 0xdd) count = u32();
  else return undefined;
  if (count === 0 || count > end - pos) return undefined;
  const envs: Envelope[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const env = envelope();
    if (env === undefined || bad) return undefined;
    envs[i] = env;
  }
  return pos === end ? envs : undefined;
}


function u16(): number {
  if (pos + 2 > end) { bad = true; return 0; }
  const v = (src[pos]! << 8) | src[pos + 1]!;
  pos += 2;
  return v;
}

function u32(): number {
  if (pos + 4 > end) { bad = true; return 0; }
  const v = src.readUInt32BE(pos);
  pos += 4;
  return v;
}

/** One envelope map (level 3 of the frame: frame map, envs array, envelope). */
function envelope(): Envelope | undefined {
  if (pos >= end) return undefined;
  const h = src[pos++]!;
  let n: number;
  if ((h & 0xf0) === 0x80) n = h & 0x0f;
  else if (h === 0xde) n = u16(); // msgpackr's map header
  else return undefined;
  if (n > 11) return undefined; // an envelope has 11 keys at most
  let seen = 0;
  let id: string | undefined, to: string | undefined, type: string | undefined, createdAt: number | undefined;
  let payload: unknown;
  let from: string | undefined, replyTo: string | undefined, correlationId: string | undefined, traceparent: string | undefined;
  let expiresAt: number | undefined, durable: boolean | undefined;
  for (let i = 0; i < n; i++) {
    const k = envelopeKey();
    if (k === 0 || (seen & (1 << k)) !== 0) return undefined;
    seen |= 1 << k;
    switch (k) {
      case K_ID: id = asciiString(1, 128, undefined); break;
      case K_TO: to = asciiString(1, 1024, toRepeat); break;
      case K_TYPE: type = asciiString(1, 256, typeRepeat); break;
      case K_CREATED: createdAt = count(); break;
      case K_PAYLOAD: payload = value(4); break;
      case K_FROM: from = asciiString(1, 1024, fromRepeat); break;
      case K_REPLY: replyTo = asciiString(1, 1024, replyRepeat); break;
      case K_CORR: correlationId = asciiString(0, 256, undefined); break;
      case K_TRACE: traceparent = asciiString(0, 256, undefined); break;
      case K_EXPIRES: expiresAt = count(); break;
      case K_DURABLE: {
        const b = pos < end ? src[pos++] : undefined;
        if (b === 0xc2) durable = false;
        else if (b === 0xc3) durable = true;
        else bad = true;
        break;
      }
    }
    if (bad) return undefined;
  }
  if (id === undefined || to === undefined || type === undefined || createdAt === undefined || (seen & (1 << K_PAYLOAD)) === 0) return undefined;
  // one literal, the optional fields after it: the common envelope has one shape
  const env: Envelope = { id, to, type, createdAt, payload };
  if (from !== undefined) env.from = from;
  if (replyTo !== undefined) env.replyTo = replyTo;
  if (correlationId !== undefined) env.correlationId = correlationId;
  if (traceparent !== undefined) env.traceparent = traceparent;
  if (expiresAt !== undefined) env.expiresAt = expiresAt;
  if (durable !== undefined) env.durable = durable;
  return env;
}

/** The code of the envelope key at `pos` (a fixstr), or 0 for any other key. */
function envelopeKey(): number {
  if (pos >= end) return 0;
  const h = src[pos]!;
  if ((h & 0xe0) !== 0xa0) return 0;
  const len = h & 0x1f;
  const s = pos + 1;
  if (s + len > end) return 0;
  pos = s + len;
  const c0 = src[s];
  switch (len) {
    case 2:
      if (c0 === 0x69 && src[s + 1] === 0x64) return K_ID; // id
      if (c0 === 0x74 && src[s + 1] === 0x6f) return K_TO; // to
      return 0;
    case 4:
      return c0 === 0x74 && same(s, 'type') ? K_TYPE : c0 === 0x66 && same(s, 'from') ? K_FROM : 0;
    case 7:
      return c0 === 0x70 && same(s, 'payload') ? K_PAYLOAD : c0 === 0x72 && same(s, 'replyTo') ? K_REPLY : c0 === 0x64 && same(s, 'durable') ? K_DURABLE : 0;
    case 9:
      return c0 === 0x63 && same(s, 'createdAt') ? K_CREATED : c0 === 0x65 && same(s, 'expiresAt') ? K_EXPIRES : 0;
    case 11:
      return same(s, 'traceparent') ? K_TRACE : 0;
    case 13:
      return same(s, 'correlationId') ? K_CORR : 0;
    default:
      return 0;
  }
}

function same(at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (src[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** A string header: its byte length (pos moved past the header), or -1 if the value is not a string. */
function stringLength(): number {
  const h = src[pos]!;
  if ((h & 0xe0) === 0xa0) { pos++; return h & 0x1f; }
  if (h === 0xd9) { if (pos + 2 > end) return -1; pos += 2; return src[pos - 1]!; }
  if (h === 0xda) { pos++; return u16(); }
  if (h === 0xdb) { pos++; return u32(); }
  return -1;
}

/** An ASCII string of `min..max` characters (an envelope header field), or bad. */
function asciiString(min: number, max: number, repeat: Repeat | undefined): string | undefined {
  if (pos >= end) { bad = true; return undefined; }
  const len = stringLength();
  if (len < min || len > max || pos + len > end || bad) { bad = true; return undefined; }
  const s = pos;
  pos += len;
  if (repeat !== undefined) {
    const again = repeat.read(s, len);
    if (again !== undefined) return again;
  }
  for (let i = s; i < pos; i++) if (src[i]! >= 0x80) { bad = true; return undefined; }
  const text = src.latin1Slice(s, pos);
  if (repeat === undefined) return text;
  if (repeat === typeRepeat) return repeat.remember(text, false);
  // an address: valid as the last one was, or by the pattern
  if (repeat.sibling(s, len)) return text;
  if (!isEnvelopeAddress(text)) { bad = true; return undefined; }
  return repeat.remember(text, true);
}

/** A non-negative safe integer (createdAt, expiresAt): as msgpackr writes them, an unsigned int or a float64. */
function count(): number | undefined {
  if (pos >= end) { bad = true; return undefined; }
  const h = src[pos++]!;
  let v: number;
  if (h <= 0x7f) return h;
  if (h === 0xcc) { if (pos + 1 > end) { bad = true; return undefined; } return src[pos++]!; }
  if (h === 0xcd) v = u16();
  else if (h === 0xce) v = u32();
  else if (h === 0xcb) {
    if (pos + 8 > end) { bad = true; return undefined; }
    v = src.readDoubleBE(pos);
    pos += 8;
  } else { bad = true; return undefined; }
  if (!Number.isSafeInteger(v) || v < 0) { bad = true; return undefined; }
  return v;
}

/**
 * Any plain msgpack value at nesting level `level` (containers counted as the depth scan
 * counts them): objects, arrays, strings, numbers, booleans, nil, undefined.
 */
function value(level: number): unknown {
  if (pos >= end) { bad = true; return undefined; }
  const h = src[pos++]!;
  if (h <= 0x7f) return h;
  if (h >= 0xe0) return h - 0x100;
  if (h <= 0x8f) return map(h & 0x0f, level);
  if (h <= 0x9f) return array(h & 0x0f, level);
  if (h <= 0xbf) return text(h & 0x1f);
  switch (h) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xcb: {
      if (pos + 8 > end) break;
      const v = src.readDoubleBE(pos);
      pos += 8;
      return v;
    }
    case 0xcc: if (pos + 1 > end) break; return src[pos++];
    case 0xcd: return u16();
    case 0xce: return u32();
    case 0xd0: { if (pos + 1 > end) break; const v = src.readInt8(pos); pos += 1; return v; }
    case 0xd1: { if (pos + 2 > end) break; const v = src.readInt16BE(pos); pos += 2; return v; }
    case 0xd2: { if (pos + 4 > end) break; const v = src.readInt32BE(pos); pos += 4; return v; }
    case 0xd4: // fixext 1 of type 0: msgpackr's undefined
      if (pos + 2 > end || src[pos] !== 0) break;
      pos += 2;
      return undefined;
    case 0xd9: if (pos + 1 > end) break; return text(src[pos++]!);
    case 0xda: return text(u16());
    case 0xdb: return text(u32());
    case 0xdc: return array(u16(), level);
    case 0xdd: return array(u32(), level);
    case 0xde: return map(u16(), level);
    case 0xdf: return map(u32(), level);
  }
  bad = true;
  return undefined;
}

function array(n: number, level: number): unknown {
  if (bad || level > MAX_FRAME_DEPTH || n > end - pos) { bad = true; return undefined; }
  const a: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = value(level + 1);
    if (bad) return undefined;
  }
  return a;
}

function map(n: number, level: number): unknown {
  if (bad || level > MAX_FRAME_DEPTH || n * 2 > end - pos) { bad = true; return undefined; }
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = key();
    if (k === undefined) { bad = true; return undefined; }
    o[k] = value(level + 1);
    if (bad) return undefined;
  }
  return o;
}

/** A map key: a string (msgpackr renames `__proto__`; this leaves such a frame to it). */
function key(): string | undefined {
  if (pos >= end) return undefined;
  const h = src[pos]!;
  if ((h & 0xe0) !== 0xa0 && h !== 0xd9 && h !== 0xda && h !== 0xdb) return undefined;
  const k = value(0);
  return typeof k === 'string' && !bad && k !== '__proto__' ? k : undefined;
}

/** A string of `len` bytes at `pos`: ASCII read as such, else UTF-8 (invalid UTF-8: bad). */
function text(len: number): string | undefined {
  if (bad || pos + len > end) { bad = true; return undefined; }
  const s = pos;
  pos += len;
  let ascii = true;
  for (let i = s; i < pos; i++) {
    if (src[i]! >= 0x80) { ascii = false; break; }
  }
  if (ascii) {
    if (len > TEXT_MAX) return src.latin1Slice(s, pos);
    let slot = len;
    for (let i = s; i < pos; i++) slot = (slot * 31 + src[i]!) & (TEXT_SLOTS - 1);
    const known = texts[slot]!;
    if (known.length === len) {
      let i = 0;
      while (i < len && known.charCodeAt(i) === src[s + i]) i++;
      if (i === len) return known;
    }
    return (texts[slot] = src.latin1Slice(s, pos));
  }
  const bytes = src.subarray(s, pos);
  if (!isUtf8(bytes)) { bad = true; return undefined; }
  return src.utf8Slice(s, pos);
}
