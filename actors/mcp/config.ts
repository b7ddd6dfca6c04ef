import { z } from 'zod';

/** A server's name: the `<name>` of `mcp:<name>/*` and of the tools' `<name>__<tool>` names. */
export const MCP_SERVER_NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;

/** Connections one node holds at most. */
export const MAX_MCP_SERVERS = 64;

const envSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(8192))
  .refine((e) => Object.keys(e).length <= 64, 'at most 64 variables');

const limitsShape = {
  /** Time limit of one tool call (the agent's run cancels earlier ones). */
  callTimeoutMs: z.number().int().positive().max(600_000).default(60_000),
  /** Time limit of connecting: spawning or opening the session, initialize and the first tools/list. */
  connectTimeoutMs: z.number().int().positive().max(300_000).default(30_000),
  /** Restart backoff after the process died or the session was lost: min, max and jitter. */
  backoffMinMs: z.number().int().min(0).max(600_000).default(200),
  backoffMaxMs: z.number().int().positive().max(3_600_000).default(30_000),
  /** Tools kept from one server (more are dropped, with a warning). */
  maxTools: z.number().int().positive().max(1024).default(256),
};

/** A server run as a child process, spoken to over stdio. */
export const stdioServerSchema = z.strictObject({
  name: z.string().regex(MCP_SERVER_NAME_RE, 'a server name is 1-32 of [a-z0-9-], starting with a letter'),
  transport: z.literal('stdio'),
  command: z.string().min(1).max(4096),
  args: z.array(z.string().max(8192)).max(128).default([]),
  /** Added to the SDK's safe default environment (HOME, PATH, ...); never the node's whole env. */
  env: envSchema.default({}),
  cwd: z.string().min(1).max(4096).optional(),
  ...limitsShape,
});

/** A server reached over Streamable HTTP (falling back to the older HTTP+SSE transport). */
export const httpServerSchema = z.strictObject({
  name: z.string().regex(MCP_SERVER_NAME_RE, 'a server name is 1-32 of [a-z0-9-], starting with a letter'),
  transport: z.literal('http'),
  url: z.string().url().max(4096).refine((u) => /^https?:/i.test(u), 'url must be http(s)'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,128}$/), z.string().max(8192)).refine((h) => Object.keys(h).length <= 64, 'at most 64 headers').default({}),
  ...limitsShape,
});

/**
 * One MCP server an agent may use tools of: `{ name, command, args?, env?, cwd? }` (stdio,
 * the default transport) or `{ name, transport: 'http', url, headers? }`.
 *
 * @example
 * mcpServerSchema.parse({ name: 'memory', command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'] });
 */
export const mcpServerSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { transport?: unknown }).transport === undefined ? { ...v, transport: 'stdio' } : v),
  z.discriminatedUnion('transport', [stdioServerSchema, httpServerSchema]),
);
export type McpServerConfigInput = z.input<typeof mcpServerSchema>;
export type McpServerConfig = z.output<typeof mcpServerSchema>;
