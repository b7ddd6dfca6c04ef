import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { McpConnectionState } from './connection.js';

const STATES: readonly McpConnectionState[] = ['connecting', 'ready', 'backoff', 'stopped'];

/**
 * The MCP client's Prometheus series, on a registry of the module's own: calls and their
 * latency per server, and each connection's state and tool count.
 *
 * @example
 * const metrics = new McpMetrics('n1');
 * metrics.observeCall('memory', true, 0.012);
 * await metrics.registry.metrics(); // 'troupe_mcp_tool_calls_total{...} 1 ...'
 */
export class McpMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'server' | 'outcome'>;
  private readonly latency: Histogram<'server'>;
  private readonly state: Gauge<'server' | 'state'>;
  private readonly tools: Gauge<'server'>;

  constructor(nodeId: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    this.calls = new Counter({ name: 'troupe_mcp_tool_calls_total', help: 'MCP tool calls by server and outcome (ok, error)', labelNames: ['server', 'outcome'], registers });
    this.latency = new Histogram({ name: 'troupe_mcp_tool_call_seconds', help: 'MCP tool call latency by server', labelNames: ['server'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120], registers });
    this.state = new Gauge({ name: 'troupe_mcp_connection_state', help: 'MCP server connections: 1 for the state each is in', labelNames: ['server', 'state'], registers });
    this.tools = new Gauge({ name: 'troupe_mcp_tools', help: 'Tools each MCP server offers now', labelNames: ['server'], registers });
  }

  observeCall(server: string, ok: boolean, seconds: number): void {
    this.calls.inc({ server, outcome: ok ? 'ok' : 'error' });
    this.latency.observe({ server }, seconds);
  }

  setState(server: string, state: McpConnectionState, tools: number): void {
    for (const s of STATES) this.state.set({ server, state: s }, s === state ? 1 : 0);
    this.tools.set({ server }, tools);
  }

  /** Forget a removed server's series. */
  remove(server: string): void {
    for (const s of STATES) this.state.remove({ server, state: s });
    this.tools.remove({ server });
    this.calls.remove({ server, outcome: 'ok' });
    this.calls.remove({ server, outcome: 'error' });
    this.latency.remove({ server });
  }
}
