import { z } from 'zod';

/** Addresses look like `troupe://<node>/<path>`, path under `system`, `user` or `temp` (ask replies). */
export const ADDRESS_RE = /^troupe:\/\/([^/\s]+)\/((?:system|user|temp)(?:\/[^/\s]+)*)$/;

export const addressSchema = z.string().max(1024).regex(ADDRESS_RE, 'expected troupe://<node>/<path>');

/** Serialized form of an error inside a reply envelope. */
export const serializedErrorSchema = z.object({
  code: z.string().max(128),
  message: z.string().max(64 * 1024),
  details: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The envelope: what crosses a node boundary (and what dead letters record).
 * `type` is the message's dotted type; `payload` the message itself.
 */
export const envelopeSchema = z.object({
  id: z.string().min(1).max(128),
  from: addressSchema.optional(),
  to: addressSchema,
  type: z.string().min(1).max(256),
  correlationId: z.string().max(256).optional(),
  replyTo: addressSchema.optional(),
  traceparent: z.string().max(256).optional(),
  createdAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative().optional(),
  durable: z.boolean().optional(),
  payload: z.unknown(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

const ENVELOPE_KEYS = new Set(Object.keys(envelopeSchema.shape));
/** ADDRESS_RE without its capture groups: the same language, cheaper to test. */
const ADDRESS_TEST_RE = /^troupe:\/\/[^/\s]+\/(?:system|user|temp)(?:\/[^/\s]+)*$/;
/** The last string that passed as an address: a stream to one actor repeats it (an equal string compares cheaper than the regex runs). */
let lastAddress = 'troupe://-/system'; // a valid address: '' must never pass
/**
 * True when `v` is an address an envelope may carry (`troupe://<node>/<path>`, at most
 * 1024 characters): the fast check behind {@link isCleanEnvelope}, the same language as
 * {@link addressSchema}.
 *
 * @example
 * isEnvelopeAddress('troupe://b/user/counter'); // true
 */
export const isEnvelopeAddress = (v: unknown): boolean => {
  if (typeof v !== 'string') return false;
  if (v === lastAddress) return true;
  if (v.length > 1024 || !ADDRESS_TEST_RE.test(v)) return false;
  lastAddress = v;
  return true;
};
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isText = (v: unknown, max: number): boolean => typeof v === 'string' && v.length <= max;

/**
 * The fast path of envelope validation (every envelope from a peer goes through it): true
 * when `v` is a plain object that {@link envelopeSchema} accepts and would return unchanged
 * (no extra keys, every field valid), so the object itself can be used. False means "not
 * sure": run the schema, which has the last word and gives the error. A property test holds
 * the two together.
 */
export function isCleanEnvelope(v: unknown): v is Envelope {
  if (typeof v !== 'object' || v === null) return false;
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  const o = v as Record<string, unknown>;
  for (const k in o) if (!ENVELOPE_KEYS.has(k)) return false;
  const { id, type } = o;
  return typeof id === 'string' && id.length >= 1 && id.length <= 128
    && isEnvelopeAddress(o.to)
    && typeof type === 'string' && type.length >= 1 && type.length <= 256
    && isCount(o.createdAt)
    && 'payload' in o
    && (o.from === undefined || isEnvelopeAddress(o.from))
    && (o.replyTo === undefined || isEnvelopeAddress(o.replyTo))
    && (o.correlationId === undefined || isText(o.correlationId, 256))
    && (o.traceparent === undefined || isText(o.traceparent, 256))
    && (o.expiresAt === undefined || isCount(o.expiresAt))
    && (o.durable === undefined || typeof o.durable === 'boolean');
}

/** Parse `troupe://node/path` into its parts; undefined when it is not an address. */
export function parseAddress(address: string): { node: string; path: string } | undefined {
  const m = ADDRESS_RE.exec(address);
  return m ? { node: m[1]!, path: m[2]! } : undefined;
}

export function formatAddress(node: string, path: string): string {
  return `troupe://${node}/${path}`;
}
