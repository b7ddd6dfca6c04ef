import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { gatewayOptionsSchema } from '../gateway/index.js';
import { TroupeError, parseOrThrow } from '../protocol/index.js';
import { MAX_PASSIVATE_AFTER_MS, clusterOptionsSchema } from '../actors/index.js';
import { MIN_DATA_KEY_LENGTH } from '../storage/index.js';
import { parseCommandLine, type Command, type OptionSpec } from './options.js';

/**
 * The CLI's configuration: defaults < config file < environment < flags. One schema,
 * validated once; a bad value is TROUPE_ERR_CONFIG_INVALID naming the field.
 */
const gatewayOption = gatewayOptionsSchema.shape;
const clusterOption = clusterOptionsSchema.shape;

/** A port from a flag, the environment (strings) or the config file (numbers). */
const port = (def: number) => z.coerce.number().int().min(0).max(65_535).default(def);

export const cliConfigSchema = z.object({
  node: z.string().optional(),
  // the layers' own rules and defaults, so the CLI cannot drift from them
  host: gatewayOption.host,
  httpPort: port(8787),
  peerPort: port(7700),
  peers: clusterOption.seeds,
  data: z.string().min(1).default('./data'),
  clusterSecret: z.string().min(1).optional(),
  /** Seals durable agents' provider secrets at rest; TROUPE_DATA_KEY (kept out of flags: argv is visible to other users). */
  dataKey: z.string().min(MIN_DATA_KEY_LENGTH, `the data key must be at least ${MIN_DATA_KEY_LENGTH} characters`).optional(),
  clusterName: clusterOption.clusterName,
  apiKeys: gatewayOption.apiKeys,
  insecure: gatewayOption.insecure,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  heartbeatMs: z.coerce.number().int().min(5).max(60_000).default(500),
  /** Gateway https: certificate chain and private key files (PEM). */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** Peer links over wss: this node's certificate and key, the CA that signs peers, and mutual TLS. */
  peerTlsCert: z.string().min(1).optional(),
  peerTlsKey: z.string().min(1).optional(),
  peerTlsCa: z.string().min(1).optional(),
  peerTlsMutual: z.boolean().default(false),
  /** Further gateway options (limits, rate, SSE buffer, allowAgentProviders); host, port, keys, insecure and TLS have their own keys. */
  gateway: gatewayOptionsSchema.omit({ host: true, port: true, apiKeys: true, insecure: true, tls: true }).partial().strict().default({}),
  /** Agents to spawn at start (the demo config ships some). */
  agents: z.array(z.record(z.string(), z.unknown())).default([]),
  /** Idle time (ms) after which an agent with a journal is passivated, unless its spec says otherwise; 0: never (default 600000). */
  agentPassivateAfterMs: z.number().int().min(0).max(MAX_PASSIVATE_AFTER_MS).optional(),
  /** Let fault drills run on this node (`troupe drill`, /api/v1/drills). */
  allowDrills: z.boolean().default(false),
  /** MCP servers agents may use tools of (`tools: ["mcp:<name>/*"]`); each checked by the mcp module. */
  mcpServers: z.array(z.record(z.string(), z.unknown())).max(64).default([]),
  /** The mcp module's options: `apiServers` (`none`, `http`, `all`): what POST /api/v1/mcp-servers may add. */
  mcp: z.strictObject({ apiServers: z.enum(['none', 'http', 'all']).optional() }).default({}),
  /** Audit log options (auditModule; validated there). */
  audit: z.record(z.string(), z.unknown()).optional(),
  /** Fabric planes and preset (fabricModule; validated there). */
  fabric: z.record(z.string(), z.unknown()).optional(),
  /** Orchestration options (model, simpleAgent, ttlMs, maxParallel, ...): checked by the orchestrator module. */
  orchestrator: z.record(z.string(), z.unknown()).default({}),
  /** PII policies (default, external, agents, pairs, maxScanChars): checked by the pii module. */
  pii: z.record(z.string(), z.unknown()).optional(),
  /** External A2A agents (allowLoopback, allowPrivate, allowApiAgents, maxResubscribes, maxThreads): checked by the a2a-external module. */
  externalAgents: z.record(z.string(), z.unknown()).optional(),
  /** A2A options (`push`: allowHosts, allowPrivate, retries...; `rest`): checked by the a2a module. */
  a2a: z.record(z.string(), z.unknown()).optional(),
}).strict();

export type CliConfig = z.output<typeof cliConfigSchema>;

/** `troupe start` options, in the order the usage lists them. */
export const START_OPTIONS: ReadonlyArray<OptionSpec> = [
  { flag: 'config', type: 'string', key: 'config', env: 'TROUPE_CONFIG', value: 'FILE', help: 'JSON config file (keys as below in camelCase, plus gateway, agents and orchestrator)' },
  { flag: 'node', type: 'string', key: 'node', env: 'TROUPE_NODE', value: 'ID', help: 'node id', default: 'the hostname' },
  { flag: 'host', type: 'string', key: 'host', env: 'TROUPE_HOST', value: 'H', help: 'address the HTTP and peer ports bind', default: '127.0.0.1' },
  { flag: 'http-port', type: 'string', key: 'httpPort', env: 'TROUPE_HTTP_PORT', value: 'N', help: 'HTTP gateway port, 0 picks a free one', default: '8787' },
  { flag: 'peer-port', type: 'string', key: 'peerPort', env: 'TROUPE_PEER_PORT', value: 'N', help: 'peer (cluster) port, 0 picks a free one', default: '7700' },
  { flag: 'peers', type: 'string', key: 'peers', env: 'TROUPE_PEERS', value: 'URL,URL', list: true, help: 'seed peers (ws:// or wss:// URLs)' },
  { flag: 'data', type: 'string', key: 'data', env: 'TROUPE_DATA', value: 'DIR', help: 'data dir (LMDB)', default: './data' },
  { flag: 'cluster-secret', type: 'string', key: 'clusterSecret', env: 'TROUPE_CLUSTER_SECRET', value: 'S', help: 'shared secret of the peer handshake' },
  { flag: 'cluster-name', type: 'string', key: 'clusterName', env: 'TROUPE_CLUSTER_NAME', value: 'NAME', help: 'cluster name; peers of another name are refused', default: 'troupe' },
  { flag: 'heartbeat-ms', type: 'string', key: 'heartbeatMs', env: 'TROUPE_HEARTBEAT_MS', value: 'N', help: 'peer heartbeat interval, 5-60000 ms', default: '500' },
  { flag: 'api-keys', type: 'string', key: 'apiKeys', env: 'TROUPE_API_KEYS', value: 'K,K', list: true, help: 'gateway API keys (8+ characters each); none: no auth (loopback only)' },
  { flag: 'insecure', type: 'boolean', key: 'insecure', env: 'TROUPE_INSECURE', help: 'allow a non-loopback host with no API keys' },
  { flag: 'tls-cert', type: 'string', key: 'tlsCert', env: 'TROUPE_TLS_CERT', value: 'FILE', help: 'gateway https: certificate chain (PEM); needs --tls-key' },
  { flag: 'tls-key', type: 'string', key: 'tlsKey', env: 'TROUPE_TLS_KEY', value: 'FILE', help: 'gateway https: private key (PEM)' },
  { flag: 'peer-tls-cert', type: 'string', key: 'peerTlsCert', env: 'TROUPE_PEER_TLS_CERT', value: 'FILE', help: 'peer links over wss: this node\'s certificate (PEM); needs --peer-tls-key' },
  { flag: 'peer-tls-key', type: 'string', key: 'peerTlsKey', env: 'TROUPE_PEER_TLS_KEY', value: 'FILE', help: 'peer links over wss: this node\'s private key (PEM)' },
  { flag: 'peer-tls-ca', type: 'string', key: 'peerTlsCa', env: 'TROUPE_PEER_TLS_CA', value: 'FILE', help: 'CA certificate(s) (PEM) that peers\' certificates must chain to' },
  { flag: 'peer-tls-mutual', type: 'boolean', key: 'peerTlsMutual', env: 'TROUPE_PEER_TLS_MUTUAL', help: 'mutual TLS: peers must present a certificate signed by --peer-tls-ca' },
  { flag: 'allow-drills', type: 'boolean', key: 'allowDrills', env: 'TROUPE_ALLOW_DRILLS', help: 'let fault drills run on this node (troupe drill, /api/v1/drills)' },
  { flag: 'log-level', type: 'string', key: 'logLevel', env: 'TROUPE_LOG_LEVEL', value: 'L', help: 'fatal|error|warn|info|debug|trace|silent (the ready line is always printed)', default: 'info' },
];

/** Read by `troupe start` but never taken as flags. */
export const START_ENV_ONLY = [
  { name: 'TROUPE_DATA_KEY', help: `seals durable agents' upstream keys at rest (${MIN_DATA_KEY_LENGTH}+ characters)` },
  { name: 'OPENAI_BASE_URL', help: 'upstream OpenAI-compatible API (default: the built-in offline model)' },
  { name: 'OPENAI_API_KEY', help: 'upstream API key' },
  { name: 'TROUPE_MODEL', help: 'default upstream model id' },
] as const;

/**
 * A negative number after a flag (`--heartbeat-ms -5`) is that flag's value, not another
 * flag: joined as `--heartbeat-ms=-5` so that the schema, not the argument parser, judges it.
 */
function joinNegativeValues(argv: string[], options: ReadonlyArray<OptionSpec>): string[] {
  const valued = new Set(options.filter((o) => o.type === 'string').map((o) => `--${o.flag}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (valued.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `cannot read ${what} ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** Gateway https material, read from the files the config names. */
export function gatewayTls(config: CliConfig): { cert: string; key: string } | undefined {
  if (config.tlsCert === undefined && config.tlsKey === undefined) return undefined;
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'gateway https needs both --tls-cert and --tls-key (TROUPE_TLS_CERT, TROUPE_TLS_KEY)');
  }
  return { cert: readPem(config.tlsCert, '--tls-cert'), key: readPem(config.tlsKey, '--tls-key') };
}

/** Peer TLS for the cluster option `tls: { cert, key, ca?, mutual? }` (PEM strings). */
export function peerTls(config: CliConfig): { cert: string; key: string; ca?: string; mutual?: boolean } | undefined {
  const any = config.peerTlsCert !== undefined || config.peerTlsKey !== undefined || config.peerTlsCa !== undefined || config.peerTlsMutual;
  if (!any) return undefined;
  if (config.peerTlsCert === undefined || config.peerTlsKey === undefined) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'peer TLS needs both --peer-tls-cert and --peer-tls-key (TROUPE_PEER_TLS_CERT, TROUPE_PEER_TLS_KEY)');
  }
  if (config.peerTlsMutual && config.peerTlsCa === undefined) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', '--peer-tls-mutual needs --peer-tls-ca: the CA that signs the peers\' certificates');
  }
  return {
    cert: readPem(config.peerTlsCert, '--peer-tls-cert'),
    key: readPem(config.peerTlsKey, '--peer-tls-key'),
    ...(config.peerTlsCa !== undefined ? { ca: readPem(config.peerTlsCa, '--peer-tls-ca') } : {}),
    ...(config.peerTlsMutual ? { mutual: true } : {}),
  };
}

/**
 * Parse `troupe start ...` arguments plus the environment into a validated config, or
 * `'help'` when --help was asked for.
 */
export function loadStartConfig(command: Command, argv: string[], env: NodeJS.ProcessEnv = process.env): CliConfig | 'help' {
  const { help, fromEnv, fromFlags } = parseCommandLine(command, joinNegativeValues(argv, command.options), env);
  if (help) return 'help';
  let file: Record<string, unknown> = {};
  const configPath = (fromFlags['config'] ?? fromEnv['config']) as string | undefined;
  delete fromFlags['config'];
  delete fromEnv['config'];
  if (configPath) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `cannot read config file ${configPath}: ${(cause as Error).message}`, { cause });
    }
  }
  if (env['TROUPE_DATA_KEY'] !== undefined && env['TROUPE_DATA_KEY'] !== '') fromEnv['dataKey'] = env['TROUPE_DATA_KEY'];
  return parseOrThrow(cliConfigSchema, { ...file, ...fromEnv, ...fromFlags }, 'TROUPE_ERR_CONFIG_INVALID', 'invalid configuration');
}
