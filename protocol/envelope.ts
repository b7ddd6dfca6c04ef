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

/** Parse `troupe://node/path` into its parts; undefined when it is not an address. */
export function parseAddress(address: string): { node: string; path: string } | undefined {
  const m = ADDRESS_RE.exec(address);
  return m ? { node: m[1]!, path: m[2]! } : undefined;
}

export function formatAddress(node: string, path: string): string {
  return `troupe://${node}/${path}`;
}
