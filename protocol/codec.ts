import { Packr } from 'msgpackr';
import { envelopeSchema, isCleanEnvelope, type Envelope } from './envelope.js';
import { TroupeError } from './errors.js';
import { describeIssues } from './validate.js';

/**
 * The wire codec: msgpack (msgpackr) with plain maps, so any msgpack peer can read it.
 * Records/structures are off on purpose: peers do not share structure state.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Encode any msgpack-able value. */
export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Decode bytes; malformed input is a coded error, never a crash.
 *
 * @example
 * const v = decode(encode({ a: 1 }));
 */
export function decode(bytes: Uint8Array, maxBytes = DEFAULT_MAX_FRAME_BYTES): unknown {
  if (bytes.byteLength > maxBytes) {
    throw new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `frame of ${bytes.byteLength} bytes exceeds ${maxBytes}`);
  }
  try {
    return packr.unpack(bytes);
  } catch (cause) {
    throw new TroupeError('TROUPE_ERR_PROTOCOL_DECODE', `malformed msgpack: ${(cause as Error).message}`, { cause });
  }
}

/** Encode an envelope. */
export function encodeEnvelope(env: Envelope): Buffer {
  return packr.pack(env);
}

/**
 * Decode and validate an envelope.
 *
 * @example
 * const env = decodeEnvelope(encodeEnvelope({ id: '1', to: 'troupe://a/user/x', type: 't', createdAt: 0, payload: {} }));
 */
export function decodeEnvelope(bytes: Uint8Array, maxBytes = DEFAULT_MAX_FRAME_BYTES): Envelope {
  return validateEnvelope(decode(bytes, maxBytes));
}

export function validateEnvelope(value: unknown): Envelope {
  if (isCleanEnvelope(value)) return value;
  const r = envelopeSchema.safeParse(value);
  if (!r.success) {
    throw new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `invalid envelope: ${describeIssues(r.error)}`);
  }
  return r.data;
}
