import pino from 'pino';
import { startNode } from '../index.js';
import { START_ENV_ONLY, START_OPTIONS, gatewayTls, loadStartConfig } from './config.js';
import { nodeOptionsOf } from './node-options.js';
import { commandUsage, type Command } from './options.js';

/**
 * `troupe start`: run a node until SIGINT or SIGTERM. When it serves, it logs one line
 * `{"msg":"troupe ready","node","http","peer"}` to stdout, whatever the log level.
 */
export const startCommand: Command = {
  name: 'start',
  summary: 'Start a node: the actor runtime, its LMDB storage, the peer port and the HTTP gateway.',
  options: START_OPTIONS,
  envOnly: START_ENV_ONLY,
  async run(argv, env) {
    const config = loadStartConfig(startCommand, argv, env);
    if (config === 'help') {
      process.stdout.write(commandUsage(startCommand));
      return;
    }
    const tls = gatewayTls(config);
    const logger = pino({ level: config.logLevel });
    // The ready line is what users and scripts wait for: it is printed at any log level.
    const announce = logger.child({}, { level: 'info' });
    // Installed before start-up: a signal while LMDB opens or agents are restored still shuts
    // down gracefully, once the node exists.
    let node: Awaited<ReturnType<typeof startNode>> | undefined;
    let stopSignal: string | undefined;
    const stop = (signal: string): void => {
      if (stopSignal !== undefined && node === undefined) return;
      stopSignal ??= signal;
      if (node === undefined) return; // start-up finishes first, then this runs again
      const n = node;
      node = undefined;
      logger.info({ node: n.id, signal }, 'troupe stopping');
      n.close().then(
        () => {
          logger.info({ node: n.id }, 'troupe stopped');
          logger.flush?.();
          process.exit(0);
        },
        (e: unknown) => {
          logger.error({ err: e }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    node = await startNode({
      ...nodeOptionsOf(config, logger, true),
      http: { ...config.gateway, host: config.host, port: config.httpPort, apiKeys: config.apiKeys, insecure: config.insecure, ...(tls ? { tls } : {}) },
    });
    if (stopSignal !== undefined) {
      stop(stopSignal);
      return;
    }
    announce.info({ node: node.id, http: node.http?.url, peer: node.peer?.url }, 'troupe ready');
  },
};
