import type { GatewayHost } from '../actors/index.js';
import { ORCHESTRATOR_MODULE, type Orchestrator } from '../actors/index.js';
import { createServer, gatewayOptionsSchema, type GatewayOptionsInput } from './server.js';
import { parseOrThrow } from '../protocol/index.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { registerAgentRoutes } from './agent-routes.js';
import { registerAuth } from './auth.js';
import { registerRateLimit } from './rate-limit.js';
import { GatewayMetrics } from './metrics.js';
import { registerOpenAIRoutes } from './openai-routes.js';
import type { CancelWhy } from './run-binding.js';
import { registerMcpEndpoint } from './mcp/index.js';

export { gatewayOptionsSchema } from './server.js';
export type { GatewayOptionsInput, GatewayOptions } from './server.js';
export { GatewayMetrics } from './metrics.js';
export { toOpenAIError, sendError, isOpenAIPath } from './errors.js';
export { buildTroupeMcpServer, type McpServerDeps } from './mcp/index.js';

/** A listening gateway. */
export interface Gateway {
  url: string;
  /** The node's Prometheus registry (what `GET /metrics` serves). */
  metrics: GatewayMetrics;
  /** Requests with a run in flight. */
  readonly inFlight: number;
  close(): Promise<void>;
}

/**
 * Serve the HTTP gateway for a node (anything that is a {@link GatewayHost}: the gateway
 * depends on that narrow interface, never on the node class). Routes turn requests into
 * commands to the gateway actor. It closes with the node (first, so in-flight requests
 * drain before actors stop).
 *
 * @example
 * const gw = await startGateway(node, { port: 0 });
 */
export async function startGateway(node: GatewayHost, input: GatewayOptionsInput = {}): Promise<Gateway> {
  const options = Object.freeze(parseOrThrow(gatewayOptionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid gateway options'));
  const { app, readiness, scheme } = createServer(options, node.logger, node.id);
  const metrics = new GatewayMetrics(node);
  node.gateway.traffic = (direction, type) => metrics.countMessage(direction, type);

  app.addHook('onResponse', (req, reply, done) => {
    metrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  registerAuth(app, options.apiKeys, { maxFailures: options.authFailureLimit, windowMs: options.authFailureWindowMs, clock: node.clock });
  registerRateLimit(app, options.rateLimitPerMinute, node.clock);

  // Runs in flight, so that shutdown can let them finish, then cancel what is left.
  const inflight = new Set<(why: CancelWhy) => void>();
  let drained: (() => void) | undefined;
  const track = (cancel: (why: CancelWhy) => void): (() => void) => {
    inflight.add(cancel);
    return () => {
      inflight.delete(cancel);
      if (inflight.size === 0) drained?.();
    };
  };
  const runTimeoutMs = options.requestTimeoutMs;

  registerClusterRoutes(app, node);
  const orchestrator = node.hasModule?.(ORCHESTRATOR_MODULE) ? node.module?.<Orchestrator>(ORCHESTRATOR_MODULE) : undefined;
  registerOpenAIRoutes(app, {
    gateway: node.gateway, track, runTimeoutMs, sseMaxBufferedBytes: options.sseMaxBufferedBytes, clock: node.clock,
    ...(orchestrator ? { orchestration: { orchestrator, track, sseMaxBufferedBytes: options.sseMaxBufferedBytes, clock: node.clock } } : {}),
  });
  registerAgentRoutes(app, { gateway: node.gateway, nodeId: node.id, track, runTimeoutMs, allowAgentProviders: options.allowAgentProviders });
  node.mountModuleRoutes(app);
  const mcp = registerMcpEndpoint(app, { host: node, clock: node.clock, bindHost: options.host, runTimeoutMs, allowAgentProviders: options.allowAgentProviders, track });
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.contentType).send([await metrics.text(), (await node.moduleMetrics?.()) ?? ''].filter((t) => t.length > 0).join('\n')));
  await app.listen({ host: options.host, port: options.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  readiness.state = 'ready';
  let closing: Promise<void> | undefined;
  const waitDrained = (ms: number): Promise<boolean> => {
    if (inflight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      drained = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
  };
  const close = (): Promise<void> => (closing ??= (async () => {
    // Phases: refuse new work (readiness 503), let runs in flight finish within the drain
    // time, cancel the rest (their upstream requests are aborted), then close the server.
    readiness.state = 'draining';
    const clean = await waitDrained(options.drainTimeoutMs);
    if (!clean) {
      node.logger.warn({ runs: inflight.size }, 'drain time is up; cancelling runs in flight');
      for (const cancel of [...inflight]) cancel('shutdown');
      await waitDrained(1_000);
      // let the 503s just produced reach their sockets before connections are closed
      await new Promise((r) => setImmediate(r));
    }
    await mcp.close();
    await app.close();
    metrics.close();
  })());
  node.onClose('gateway', close);
  return {
    url: `${scheme}://${host}:${port}`,
    metrics,
    get inFlight() {
      return inflight.size;
    },
    close,
  };
}
