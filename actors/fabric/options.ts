import { z } from 'zod';
import { FABRIC_PRESETS, PLANE_KINDS } from './presets.js';

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);

/** An HTTP connector: a real POST of each action to `url`, with auth headers, timeout, retries and a circuit breaker (cockatiel). */
export const httpConnectorSchema = z.strictObject({
  type: z.literal('http'),
  url: z.url({ protocol: /^https?$/ }).max(2_000),
  /** Sent with every request (auth); never shown by the routes or logs. */
  headers: z.record(headerName, z.string().max(4_096)).refine((h) => Object.keys(h).length <= 32, 'at most 32 headers').default({}),
  /** Sent as `authorization: Bearer <token>`; never shown. */
  bearerToken: z.string().min(1).max(4_096).optional(),
  timeoutMs: z.number().int().min(1).max(300_000).default(10_000),
  /** Retries after the first attempt (network errors, 5xx, 429, timeouts; never 4xx). */
  retries: z.number().int().min(0).max(10).default(2),
  retryBaseMs: z.number().int().min(0).max(60_000).default(200),
  retryMaxMs: z.number().int().min(0).max(300_000).default(5_000),
  /** The breaker opens after this many consecutive failed attempts... */
  breakerFailures: z.number().int().min(1).max(1_000).default(5),
  /** ...and lets one trial call through after this long. */
  breakerHalfOpenMs: z.number().int().min(1).max(3_600_000).default(30_000),
  maxResponseBytes: z.number().int().min(1).max(16 * 1024 * 1024).default(1024 * 1024),
});

/** A simulation connector (seed 000 §10.2): no external call; records the action, answers deterministically. */
export const simulationConnectorSchema = z.strictObject({
  type: z.literal('simulation'),
  /** Actions kept for inspection (newest). */
  keep: z.number().int().min(0).max(100_000).default(1_000),
});

export const connectorSchema = z.discriminatedUnion('type', [httpConnectorSchema, simulationConnectorSchema]);
export type ConnectorConfig = z.output<typeof connectorSchema>;
export type HttpConnectorConfig = z.output<typeof httpConnectorSchema>;

/** A target system's name (`salesforce`, `netsuite`), or `*` for every one. */
export const targetSystemSchema = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a target system is lower case [a-z0-9_.-], 1-64 characters');

/** One plane: its kind, the systems and action types it carries, and its connector. */
export const planeConfigSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a plane id is lower case [a-z0-9-], 1-64 characters'),
  kind: z.enum(PLANE_KINDS),
  /** The product behind it (workato, kong, kafka, snowflake), for display. */
  vendor: z.string().min(1).max(64).optional(),
  systems: z.array(z.union([targetSystemSchema, z.literal('*')])).min(1).max(1_000).default(['*']),
  connector: connectorSchema.default({ type: 'simulation', keep: 1_000 }),
});
export type PlaneConfig = z.output<typeof planeConfigSchema>;
export type PlaneConfigInput = z.input<typeof planeConfigSchema>;

/** One simulation plane of each kind: the planes of a node configured with none. */
export const SIMULATION_PLANES: PlaneConfigInput[] = [
  { id: 'ipaas-sim', kind: 'ipaas', vendor: 'simulation' },
  { id: 'api-gateway-sim', kind: 'api_gateway', vendor: 'simulation' },
  { id: 'event-bus-sim', kind: 'event_bus', vendor: 'simulation' },
  { id: 'data-warehouse-sim', kind: 'data_warehouse', vendor: 'simulation' },
  { id: 'direct-sim', kind: 'direct', vendor: 'simulation' },
];

/**
 * The fabric's options (config key `fabric`): the planes (default: one simulation plane per
 * kind, so nothing leaves the node) and the preset a node starts with when none was set
 * (`POST /api/v1/fabric/preset` persists its choice in the data dir).
 */
export const fabricOptionsSchema = z.strictObject({
  preset: z.enum(FABRIC_PRESETS).default('PRESET_1_FULL_ENTERPRISE'),
  planes: z.array(planeConfigSchema).max(256).default(() => SIMULATION_PLANES.map((p) => planeConfigSchema.parse(p))),
  /** Actions executing at once on one plane; more are refused (TROUPE_ERR_FABRIC_BUSY). */
  maxInFlightPerPlane: z.number().int().min(1).max(100_000).default(256),
}).superRefine((o, ctx) => {
  const ids = new Set<string>();
  for (const p of o.planes) {
    if (ids.has(p.id)) ctx.addIssue({ code: 'custom', message: `plane ${p.id} is listed twice`, path: ['planes'] });
    ids.add(p.id);
  }
});
export type FabricOptionsInput = z.input<typeof fabricOptionsSchema>;
export type FabricOptions = z.output<typeof fabricOptionsSchema>;
