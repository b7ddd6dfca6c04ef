import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import pino from 'pino';
import { buildTroupeMcpServer } from '../gateway/index.js';
import { startNode } from '../index.js';
import { START_ENV_ONLY, START_OPTIONS, loadStartConfig } from './config.js';
import { nodeOptionsOf } from './node-options.js';
import { commandUsage, type Command } from './options.js';

/** The start options that make sense for a stdio server (no HTTP gateway here). */
const MCP_OPTIONS = START_OPTIONS.filter((o) => !['http-port', 'api-keys', 'insecure', 'tls-cert', 'tls-key'].includes(o.flag));

/**
 * `troupe mcp`: a node serving troupe's MCP tools over stdio, for desktop MCP clients
 * (`{"command": "troupe", "args": ["mcp", "--data", "~/.troupe"]}`). It takes the options of
 * `troupe start` (config file, data dir, peers, ...) but opens no HTTP port; stdout carries
 * only MCP messages (logs go to stderr). It stops when stdin closes or on SIGINT/SIGTERM.
 */
export const mcpCommand: Command = {
  name: 'mcp',
  summary: 'Serve troupe\'s MCP tools (agents, runs, cluster) over stdio for desktop MCP clients; logs to stderr.',
  options: MCP_OPTIONS,
  envOnly: START_ENV_ONLY,
  async run(argv, env) {
    const config = loadStartConfig(mcpCommand, argv, env);
    if (config === 'help') {
      process.stdout.write(commandUsage(mcpCommand));
      return;
    }
    // stdout is the protocol's: every log line goes to stderr
    const logger = pino({ level: config.logLevel }, pino.destination(2));
    const node = await startNode({ ...nodeOptionsOf(config, logger, false), http: false });
    const server = buildTroupeMcpServer({
      host: node, runTimeoutMs: config.gateway.requestTimeoutMs ?? 300_000, allowAgentProviders: config.gateway.allowAgentProviders ?? false,
    });
    let stopping: Promise<void> | undefined;
    const stop = (why: string): Promise<void> => (stopping ??= (async () => {
      logger.info({ node: node.id, why }, 'troupe mcp stopping');
      await server.close().catch(() => undefined);
      await node.close();
      logger.flush?.();
      process.exit(0);
    })());
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.stdin.on('end', () => void stop('stdin closed'));
    const transport = new StdioServerTransport();
    transport.onclose = () => void stop('transport closed');
    await server.connect(transport);
    logger.info({ node: node.id }, 'troupe mcp ready (stdio)');
  },
};
