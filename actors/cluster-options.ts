import { z } from 'zod';
import { peerTransportOptionsSchema } from '../transport/index.js';

const transportOption = peerTransportOptionsSchema.shape;

/** Cluster options of a node: the transport's own rules and defaults, but port 7700. */
export const clusterOptionsSchema = z.object({
  host: transportOption.host,
  port: z.number().int().min(0).max(65_535).default(7700),
  seeds: transportOption.seeds,
  secret: transportOption.secret,
  /** Peer links over TLS (wss): `{ cert, key, ca?, mutual? }`, PEM text. */
  tls: transportOption.tls,
  clusterName: transportOption.clusterName,
  heartbeatMs: transportOption.heartbeatMs,
  publicUrl: transportOption.publicUrl,
  /** Time a cluster-wide lookup waits for the other nodes' answers (the first yes answers at once). */
  lookupTimeoutMs: z.number().int().positive().max(60_000).default(1_000),
  /** Locations of remote actors kept (each with a death watch on its actor); 0 turns the cache off. */
  locationCacheMax: z.number().int().min(0).max(1_000_000).default(4_096),
});
export type ClusterOptionsInput = z.input<typeof clusterOptionsSchema>;
