#!/usr/bin/env node
/**
 * The `troupe` command. `troupe start [--config FILE] [--node ID] [--host H] [--http-port N]
 * [--peer-port N] [--peers URL,URL] [--data DIR] [--cluster-secret S] [--insecure]`.
 */
import pino from 'pino';
import { startNode, type AgentSpecInput } from '../index.js';
import { isTroupeError } from '../protocol/index.js';
import { loadConfig } from './config.js';

const USAGE = `usage: troupe start [--config FILE] [--node ID] [--host H] [--http-port N] [--peer-port N]
                    [--peers URL,URL] [--data DIR] [--cluster-secret S] [--insecure] [--log-level L]`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'start') {
    process.stderr.write(`${USAGE}\n`);
    process.exit(command === undefined || command === '--help' || command === 'help' ? 0 : 2);
  }
  const config = loadConfig(rest);
  const logger = pino({ level: config.logLevel });
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
    ...(config.node ? { id: config.node } : {}),
    dataDir: config.data,
    ...(config.dataKey ? { dataKey: config.dataKey } : {}),
    logger,
    http: { ...config.gateway, host: config.host, port: config.httpPort, apiKeys: config.apiKeys, insecure: config.insecure },
    agents: config.agents as AgentSpecInput[],
    cluster: {
      host: config.host,
      port: config.peerPort,
      seeds: config.peers,
      clusterName: config.clusterName,
      heartbeatMs: config.heartbeatMs,
      ...(config.clusterSecret ? { secret: config.clusterSecret } : {}),
    },
  });
  if (stopSignal !== undefined) {
    stop(stopSignal);
    return;
  }
  logger.info({ node: node.id, http: node.http?.url, peer: node.peer?.url }, 'troupe ready');
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const msg = isTroupeError(e) ? `${e.code}: ${e.message}` : (e as Error)?.stack ?? String(e);
  process.stderr.write(`troupe: ${msg}\n`);
  process.exit(1);
});
