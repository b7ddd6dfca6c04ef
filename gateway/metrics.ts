import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActorTreeNode, AgentEvent, GatewayHost, InspectionEvent } from '../actors/index.js';
import { CounterSeries, GaugeSeries, HistogramSeries, type CounterChild, type GaugeChild, type HistogramChild } from '../actors/index.js';

/** What metrics read of the node. */
export type MetricsHost = Pick<GatewayHost, 'id' | 'actors' | 'inspect' | 'deadLetterCount' | 'agentsView'>;

/** Mailbox gauges are per actor; past this many actors only the deepest mailboxes are reported. */
const MAX_MAILBOX_SERIES = 500;
/** Agents whose memory is reported per scrape, and how long each may take to answer. */
const MAX_MEMORY_SERIES = 500;
const MEMORY_SCRAPE_TIMEOUT_MS = 500;
const RUN_OUTCOMES = ['ok', 'error', 'cancelled'] as const satisfies ReadonlyArray<Extract<AgentEvent, { type: 'agent.run.finished' }>['outcome']>;
const TOKEN_KINDS = ['prompt', 'completion'] as const;

/**
 * The node's Prometheus metrics, on a Registry of its own (never prom-client's global one,
 * so several nodes in one process do not collide). Fed by the kernel's inspection events,
 * the agents' events and the gateway's own hooks; mailbox depths and actor counts are read
 * from the supervision tree at scrape time.
 *
 * @example
 * const metrics = new GatewayMetrics(node);
 * const text = await metrics.registry.metrics();
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: Array<() => void> = [];
  // The series bumped on every request and run are CounterSeries & co (see series.ts):
  // prom-client's label children hash their labels on every bump.
  private readonly http: CounterSeries<'method' | 'route' | 'status'>;
  private readonly latency: HistogramSeries<'method' | 'route' | 'status'>;
  private readonly messages: CounterSeries<'direction' | 'type'>;
  /** Per status code, then per `method route`: no key is built per request. */
  private readonly httpChildren = new Map<number, Map<string, Map<string, { count: CounterChild; time: HistogramChild }>>>();
  private httpSeriesCount = 0;
  private readonly messageChildren = { in: new Map<string, CounterChild>(), out: new Map<string, CounterChild>() };

  constructor(node: MetricsHost) {
    const registry = this.registry;
    const agents = node.agentsView;
    registry.setDefaultLabels({ node: node.id });
    collectDefaultMetrics({ register: registry });

    this.http = new CounterSeries('troupe_http_requests_total', 'HTTP requests by route template and status', ['method', 'route', 'status'], registry);
    this.latency = new HistogramSeries('troupe_http_request_duration_seconds', 'HTTP request latency (for SSE: until the stream ended)', ['method', 'route', 'status'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registry);
    this.messages = new CounterSeries('troupe_gateway_messages_total', 'Messages the gateway actor sent to agents (out) and received from them (in), by type', ['direction', 'type'], registry);

    const restarts = new Counter({ name: 'troupe_actor_restarts_total', help: 'Actor restarts by actor', labelNames: ['actor'], registers: [registry] });
    const failures = new Counter({ name: 'troupe_actor_failures_total', help: 'Actor crashes by actor', labelNames: ['actor'], registers: [registry] });
    const decisions = new Counter({ name: 'troupe_supervisor_decisions_total', help: 'Supervision decisions by directive and plan', labelNames: ['directive', 'plan'], registers: [registry] });
    const escalations = new Counter({ name: 'troupe_supervisor_escalations_total', help: 'Failures escalated past the top of a tree', registers: [registry] });
    const deadLetters = new Counter({ name: 'troupe_dead_letters_total', help: 'Messages dead-lettered by reason', labelNames: ['reason'], registers: [registry] });
    const overflows = new Counter({ name: 'troupe_mailbox_overflows_total', help: 'Sends refused by a full mailbox, by actor', labelNames: ['actor'], registers: [registry] });
    const spawned = new Counter({ name: 'troupe_actors_spawned_total', help: 'Actors spawned', registers: [registry] });

    new Gauge({
      name: 'troupe_mailbox_depth', help: 'Messages waiting in an actor mailbox (sampled at scrape)', labelNames: ['actor'], registers: [registry],
      collect() {
        this.reset();
        const all: ActorTreeNode[] = [];
        const walk = (n: ActorTreeNode): void => {
          all.push(n);
          n.children.forEach(walk);
        };
        node.actors().forEach(walk);
        const pick = all.length > MAX_MAILBOX_SERIES ? [...all].sort((a, b) => b.mailbox - a.mailbox).slice(0, MAX_MAILBOX_SERIES) : all;
        for (const a of pick) this.set({ actor: a.path }, a.mailbox);
      },
    });
    new Gauge({
      name: 'troupe_actors', help: 'Live actors by status (sampled at scrape)', labelNames: ['status'], registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        const walk = (n: ActorTreeNode): void => {
          counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
          n.children.forEach(walk);
        };
        node.actors().forEach(walk);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'troupe_dead_letters_stored', help: 'Dead letters currently kept', registers: [registry],
      collect() {
        this.set(node.deadLetterCount());
      },
    });

    this.unsubscribe.push(node.inspect((e: InspectionEvent) => {
      switch (e.type) {
        case 'actor.spawned': spawned.inc(); break;
        case 'actor.restarted': restarts.inc({ actor: pathOf(e.address) }); break;
        case 'actor.failed': failures.inc({ actor: pathOf(e.address) }); break;
        case 'supervisor.decision': decisions.inc({ directive: e.directive, plan: e.plan }); break;
        case 'supervisor.escalated': escalations.inc(); break;
        case 'message.dead-lettered': deadLetters.inc({ reason: e.reason }); break;
        case 'mailbox.overflow': overflows.inc({ actor: pathOf(e.address) }); break;
        default: break;
      }
    }));

    const runs = new CounterSeries('troupe_agent_runs_total', 'Agent runs by agent and outcome', ['agent', 'outcome'], registry);
    const runDuration = new HistogramSeries('troupe_agent_run_duration_seconds', 'Agent run duration by agent and outcome', ['agent', 'outcome'],
      [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registry);
    const inFlight = new GaugeSeries('troupe_agent_runs_in_flight', 'Agent runs executing', ['agent'], registry);
    const tokens = new CounterSeries('troupe_agent_tokens_total', 'Model tokens by agent and kind (prompt, completion)', ['agent', 'kind'], registry);
    const modelFailures = new Counter({ name: 'troupe_agent_model_failures_total', help: 'Failed model calls by agent and code', labelNames: ['agent', 'code'], registers: [registry] });
    const agentStops = new Counter({ name: 'troupe_agent_stopped_total', help: 'Agents stopped for good by their supervisor', labelNames: ['agent'], registers: [registry] });
    new Gauge({
      name: 'troupe_agents', help: 'Agents by status', labelNames: ['status'], registers: [registry],
      collect() {
        this.reset();
        for (const a of agents?.list() ?? []) this.inc({ status: a.status });
      },
    });

    // Memory held by each running local agent, asked once per scrape (the three gauges
    // share the answers) and bounded: at most MAX_MEMORY_SERIES agents, each answering
    // within a short time or left out.
    type MemoryRow = { agent: string; memoryBytes: number; memoryTokens: number; conversations: number };
    let scraping: Promise<MemoryRow[]> | undefined;
    const memoryRows = (): Promise<MemoryRow[]> => (scraping ??= (async () => {
      // not the passivated ones: a scrape must not activate them
      const running = (agents?.list() ?? []).filter((a) => a.status === 'running' && a.passivated !== true).slice(0, MAX_MEMORY_SERIES);
      const statuses = await Promise.all(running.map((a) => agents!.status(a.name, MEMORY_SCRAPE_TIMEOUT_MS).catch(() => undefined)));
      return statuses.flatMap((st, i) => (st && typeof st.memoryBytes === 'number'
        ? [{ agent: running[i]!.name, memoryBytes: st.memoryBytes, memoryTokens: st.memoryTokens, conversations: st.conversations }]
        : []));
    })().finally(() => { scraping = undefined; }));
    const memoryGauge = (name: string, help: string, pick: (row: MemoryRow) => number): void => {
      new Gauge({
        name, help, labelNames: ['agent'], registers: [registry],
        async collect() {
          const rows = await memoryRows();
          this.reset();
          for (const row of rows) this.set({ agent: row.agent }, pick(row));
        },
      });
    };
    memoryGauge('troupe_agent_memory_bytes', 'Bytes (JSON) of conversation history an agent holds (limits.maxHistoryBytes per conversation, maxMemoryBytes per agent)', (st) => st.memoryBytes);
    memoryGauge('troupe_agent_memory_tokens', 'Approximate tokens of conversation history an agent holds (limits.maxHistoryTokens per conversation)', (st) => st.memoryTokens);
    memoryGauge('troupe_agent_conversations', 'Conversations an agent keeps (limits.maxConversations)', (st) => st.conversations);

    // Codes seen per agent, so that its failure series can be removed with it.
    const failureCodes = new Map<string, Set<string>>();
    // Label children per agent, cached: hashing label objects on every run shows in profiles.
    type RunSeries = {
      inFlight: GaugeChild;
      prompt: CounterChild;
      completion: CounterChild;
      outcomes: Map<string, { runs: CounterChild; time: HistogramChild }>;
    };
    const series = new Map<string, RunSeries>();
    const seriesOf = (agent: string): RunSeries => {
      let s = series.get(agent);
      if (!s) {
        s = { inFlight: inFlight.child({ agent }), prompt: tokens.child({ agent, kind: 'prompt' }), completion: tokens.child({ agent, kind: 'completion' }), outcomes: new Map() };
        if (series.size < 10_000) series.set(agent, s);
      }
      return s;
    };
    const outcomeOf = (s: RunSeries, agent: string, outcome: string): { runs: CounterChild; time: HistogramChild } => {
      let o = s.outcomes.get(outcome);
      if (!o) s.outcomes.set(outcome, (o = { runs: runs.child({ agent, outcome }), time: runDuration.child({ agent, outcome }) }));
      return o;
    };
    const forget = (agent: string): void => {
      series.delete(agent);
      for (const outcome of RUN_OUTCOMES) {
        runs.remove({ agent, outcome });
        runDuration.remove({ agent, outcome });
      }
      for (const kind of TOKEN_KINDS) tokens.remove({ agent, kind });
      for (const code of failureCodes.get(agent) ?? []) modelFailures.remove({ agent, code });
      failureCodes.delete(agent);
      inFlight.remove({ agent });
      agentStops.remove({ agent });
    };

    if (agents) this.unsubscribe.push(agents.events.subscribe((e: AgentEvent) => {
      switch (e.type) {
        case 'agent.run.started': seriesOf(e.agent).inFlight.inc(); break;
        case 'agent.run.finished': {
          const s = seriesOf(e.agent);
          const o = outcomeOf(s, e.agent, e.outcome);
          s.inFlight.dec();
          o.runs.inc();
          o.time.observe(e.durationMs / 1000);
          if (e.usage) {
            s.prompt.inc(e.usage.prompt_tokens);
            s.completion.inc(e.usage.completion_tokens);
          }
          break;
        }
        case 'agent.model.failed': {
          let codes = failureCodes.get(e.agent);
          if (!codes) failureCodes.set(e.agent, (codes = new Set()));
          codes.add(e.code);
          modelFailures.inc({ agent: e.agent, code: e.code });
          break;
        }
        case 'agent.stopped': agentStops.inc({ agent: e.agent }); break;
        // A removed agent's series go with it: names come and go over HTTP, series must not pile up.
        case 'agent.removed': forget(e.agent); break;
        default: break;
      }
    }));
  }

  /** One finished HTTP exchange. `route` is the route template, never the raw URL. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    // Series cached by status, method and route: nothing is built or hashed per request.
    let byMethod = this.httpChildren.get(status);
    if (!byMethod) this.httpChildren.set(status, (byMethod = new Map()));
    let byRoute = byMethod.get(method);
    if (!byRoute) byMethod.set(method, (byRoute = new Map()));
    let c = byRoute.get(route);
    if (!c) {
      const labels = { method, route, status: String(status) };
      c = { count: this.http.child(labels), time: this.latency.child(labels) };
      // route templates and methods are few, but the cache stays bounded whatever comes
      if (this.httpSeriesCount < 10_000) {
        byRoute.set(route, c);
        this.httpSeriesCount++;
      }
    }
    c.count.inc();
    c.time.observe(seconds);
  }

  /** One message the gateway actor exchanged with an agent. */
  countMessage(direction: 'in' | 'out', type: string): void {
    const cache = this.messageChildren[direction];
    let c = cache.get(type);
    if (!c) {
      c = this.messages.child({ direction, type });
      if (cache.size < 1_000) cache.set(type, c);
    }
    c.inc();
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.registry.clear();
  }
}

function pathOf(address: string): string {
  const i = address.indexOf('/', 'troupe://'.length);
  return i < 0 ? address : address.slice(i + 1);
}
