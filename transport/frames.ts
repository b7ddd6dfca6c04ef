import { z } from 'zod';
import { encode, envelopeSchema, isCleanEnvelope } from '../protocol/index.js';
import { nodeIdSchema, peerUrlSchema } from './options.js';

/**
 * Version of the peer wire protocol; a peer with another version is refused (4003).
 * 2: typed ask replies (`troupe.reply` carries the value, `troupe.reply.error` the error).
 * 3: the proof binds the prover's role and both sides' ids, incarnations and nonces; the
 *    dialer proves first and the acceptor answers only after checking it.
 */
export const PROTOCOL_VERSION = 3;

/** Bytes in a handshake nonce and in an HMAC-SHA256 proof. */
export const NONCE_BYTES = 32;

const bytes = (min: number, max: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength >= min && v.byteLength <= max, `expected ${min}..${max} bytes`);

const messageId = z.string().min(1).max(128);

/** One member in a gossip frame. */
export const memberInfoSchema = z.object({
  node: nodeIdSchema,
  peer: peerUrlSchema,
  incarnation: z.string().min(1).max(64),
  status: z.enum(['up', 'suspect', 'down']),
});

/** A member as gossiped between nodes. */
export type MemberInfo = z.infer<typeof memberInfoSchema>;

/** First frame each way on a link: who I am, and my fresh nonce for your proof. */
export const helloFrameSchema = z.object({
  t: z.literal('hello'),
  nodeId: nodeIdSchema,
  cluster: z.string().min(1).max(128),
  protocolVersion: z.number().int(),
  incarnation: z.string().min(1).max(64),
  peerUrl: peerUrlSchema,
  nonce: bytes(NONCE_BYTES, NONCE_BYTES),
  /** Largest frame this side accepts; the other side keeps its batches below it. */
  maxFrame: z.number().int().min(1_024).optional(),
});

/** After the hellos: the dialer's HMAC of the cluster secret over the transcript, then (once checked) the acceptor's. */
export const proofFrameSchema = z.object({ t: z.literal('proof'), mac: bytes(32, 32) });

/**
 * Every frame a link carries, validated on arrival. `hello` and `proof` open a link (both
 * directions); the rest flow only after both proofs checked out.
 */
export const frameSchema = z.discriminatedUnion('t', [
  helloFrameSchema,
  proofFrameSchema,
  z.object({ t: z.literal('batch'), envs: z.array(envelopeSchema).min(1) }),
  z.object({
    t: z.literal('durable'),
    items: z.array(z.object({ id: messageId, bytes: bytes(1, Number.MAX_SAFE_INTEGER) })).min(1),
  }),
  z.object({ t: z.literal('ack'), ids: z.array(messageId).min(1) }),
  z.object({ t: z.literal('hb') }),
  z.object({ t: z.literal('gossip'), members: z.array(memberInfoSchema).max(100_000) }),
  z.object({ t: z.literal('bye') }),
]);

/** A validated frame. */
export type Frame = z.infer<typeof frameSchema>;

/**
 * Validate a decoded frame against {@link frameSchema}. A batch whose envelopes are all
 * clean ({@link isCleanEnvelope}) is used as it is; anything else gets the full schema.
 *
 * @example
 * const r = parseFrame(decode(bytes));
 * if (!r.success) link.protocolError(r.error.message);
 */
export function parseFrame(raw: unknown): z.ZodSafeParseResult<Frame> {
  if (typeof raw === 'object' && raw !== null && (raw as { t?: unknown }).t === 'batch' && Object.keys(raw).length === 2) {
    const envs = (raw as { envs?: unknown }).envs;
    if (Array.isArray(envs) && envs.length > 0 && envs.every(isCleanEnvelope)) return { success: true, data: raw as Frame };
  }
  return frameSchema.safeParse(raw);
}
/** A validated hello. */
export type HelloFrame = z.infer<typeof helloFrameSchema>;

/** The heartbeat frame never changes, so it is encoded once. */
export const HEARTBEAT_BYTES: Buffer = encode({ t: 'hb' });
/** Sent before a graceful close so peers mark this node down at once. */
export const BYE_BYTES: Buffer = encode({ t: 'bye' });

// msgpack of `{ t: 'batch', envs: ` up to (not including) the array header: fixmap(2),
// 't', 'batch', 'envs'. Envelopes are packed one by one at send time (so size limits are
// checked where the caller can see the error) and spliced into the array here, which is
// byte-for-byte what packing the whole frame would give.
const BATCH_PREFIX = Buffer.from([0x82, 0xa1, 0x74, 0xa5, 0x62, 0x61, 0x74, 0x63, 0x68, 0xa4, 0x65, 0x6e, 0x76, 0x73]);

/** Upper bound of the bytes a batch frame adds around its envelopes. */
export const BATCH_OVERHEAD = BATCH_PREFIX.length + 5;

/**
 * Build one `batch` frame from already-packed envelopes `parts[from..to)` whose lengths sum
 * to `bodyBytes`. One allocation, one copy per envelope.
 *
 * @example
 * const frame = encodeBatch([encodeEnvelope(a), encodeEnvelope(b)], 0, 2, lenA + lenB);
 */
export function encodeBatch(parts: readonly Uint8Array[], from: number, to: number, bodyBytes: number): Buffer {
  const n = to - from;
  const headerBytes = n < 16 ? 1 : n < 0x10000 ? 3 : 5;
  const out = Buffer.allocUnsafe(BATCH_PREFIX.length + headerBytes + bodyBytes);
  BATCH_PREFIX.copy(out, 0);
  let o = BATCH_PREFIX.length;
  if (n < 16) out[o++] = 0x90 | n;
  else if (n < 0x10000) {
    out[o++] = 0xdc;
    out.writeUInt16BE(n, o);
    o += 2;
  } else {
    out[o++] = 0xdd;
    out.writeUInt32BE(n, o);
    o += 4;
  }
  for (let i = from; i < to; i++) {
    const p = parts[i]!;
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

// Upper bounds of what msgpack adds around the items of a `durable` and an `ack` frame.
// Frame: fixmap(2), 't' and its value, the array key, a header of at most 5 bytes.
// Durable item: fixmap(2), 'id', a string header of at most 3 bytes (ids are at most 128
// chars), 'bytes', a bin header of at most 5. Ack id: a string header of at most 3.

/** Upper bound of the bytes a `durable` frame adds around its items. */
export const DURABLE_OVERHEAD = 1 + 2 + 8 + 6 + 5;

/** Upper bound of the bytes an `ack` frame adds around its ids. */
export const ACK_OVERHEAD = 1 + 2 + 4 + 4 + 5;

/**
 * Upper bound of one `{ id, bytes }` item inside a `durable` frame.
 *
 * @example
 * DURABLE_OVERHEAD + durableItemBytes(env.id, bytes) <= maxFrameBytes; // it can be sent
 */
export function durableItemBytes(id: string, bytes: Uint8Array): number {
  return Buffer.byteLength(id) + bytes.byteLength + 1 + 3 + 3 + 6 + 5;
}

/**
 * Upper bound of one id inside an `ack` frame.
 *
 * @example
 * ACK_OVERHEAD + ids.reduce((n, id) => n + ackIdBytes(id), 0) <= maxFrameBytes;
 */
export function ackIdBytes(id: string): number {
  return Buffer.byteLength(id) + 3;
}
