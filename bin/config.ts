import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { gatewayOptionsSchema } from '../gateway/index.js';
import { TroupeError, parseOrThrow, withoutUndefined } from '../protocol/index.js';
import { clusterOptionsSchema } from '../actors/index.js';
import { MIN_DATA_KEY_LENGTH } from '../storage/index.js';

/**
 * The CLI's configuration: defaults < config file < environment < flags. One schema,
 * validated once; a bad value is TROUPE_ERR_CONFIG_INVALID naming the field.
 */
const gatewayOption = gatewayOptionsSchema.shape;
const clusterOption = clusterOptionsSchema.shape;

export const cliConfigSchema = z.object({
  node: z.string().optional(),
  // the layers' own rules and defaults, so the CLI cannot drift from them
  host: gatewayOption.host,
  httpPort: z.coerce.number().int().min(0).max(65_535).default(8787),
  peerPort: z.coerce.number().int().min(0).max(65_535).default(7700),
  peers: clusterOption.seeds,
  data: z.string().min(1).default('./data'),
  clusterSecret: z.string().min(1).optional(),
  /** Seals durable agents' provider secrets at rest; TROUPE_DATA_KEY (kept out of flags: argv is visible to other users). */
  dataKey: z.string().min(MIN_DATA_KEY_LENGTH, `the data key must be at least ${MIN_DATA_KEY_LENGTH} characters`).optional(),
  clusterName: clusterOption.clusterName,
  apiKeys: gatewayOption.apiKeys,
  insecure: gatewayOption.insecure,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  heartbeatMs: z.coerce.number().int().positive().max(60_000).default(500),
  /** Further gateway options (limits, rate, SSE buffer, allowAgentProviders); host, port, keys and insecure have their own keys. */
  gateway: gatewayOptionsSchema.omit({ host: true, port: true, apiKeys: true, insecure: true }).partial().strict().default({}),
  /** Agents to spawn at start (the demo config ships some). */
  agents: z.array(z.record(z.string(), z.unknown())).default([]),
}).strict();

export type CliConfig = z.output<typeof cliConfigSchema>;

const list = (v: string | undefined): string[] | undefined =>
  v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);


/** Parse `troupe start ...` arguments plus the environment into a validated config. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): CliConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      node: { type: 'string' },
      host: { type: 'string' },
      'http-port': { type: 'string' },
      'peer-port': { type: 'string' },
      peers: { type: 'string' },
      data: { type: 'string' },
      'cluster-secret': { type: 'string' },
      'cluster-name': { type: 'string' },
      'api-keys': { type: 'string' },
      insecure: { type: 'boolean' },
      'log-level': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  let file: Record<string, unknown> = {};
  const configPath = values.config ?? env.TROUPE_CONFIG;
  if (configPath) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `cannot read config file ${configPath}: ${(cause as Error).message}`, { cause });
    }
  }
  const fromEnv = withoutUndefined({
    node: env.TROUPE_NODE,
    host: env.TROUPE_HOST,
    httpPort: env.TROUPE_HTTP_PORT,
    peerPort: env.TROUPE_PEER_PORT,
    peers: list(env.TROUPE_PEERS),
    data: env.TROUPE_DATA,
    clusterSecret: env.TROUPE_CLUSTER_SECRET,
    dataKey: env.TROUPE_DATA_KEY,
    clusterName: env.TROUPE_CLUSTER_NAME,
    apiKeys: list(env.TROUPE_API_KEYS),
    logLevel: env.TROUPE_LOG_LEVEL,
    heartbeatMs: env.TROUPE_HEARTBEAT_MS,
  });
  const fromFlags = withoutUndefined({
    node: values.node,
    host: values.host,
    httpPort: values['http-port'],
    peerPort: values['peer-port'],
    peers: list(values.peers),
    data: values.data,
    clusterSecret: values['cluster-secret'],
    clusterName: values['cluster-name'],
    apiKeys: list(values['api-keys']),
    insecure: values.insecure,
    logLevel: values['log-level'],
    heartbeatMs: values['heartbeat-ms'],
  });
  return parseOrThrow(cliConfigSchema, { ...file, ...fromEnv, ...fromFlags }, 'TROUPE_ERR_CONFIG_INVALID', 'invalid configuration');
}
