import type { Logger } from 'pino';
import { McpError, ErrorCode as McpErrorCode, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { TroupeError } from '../../protocol/index.js';
import { BackoffState } from '../../supervisors/index.js';
import type { ActorRef, Behaviour, Context } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import type { McpServerConfig } from './config.js';
import {
  McpCall, McpCallDone, McpConnect, McpLost, McpOpenFailed, McpOpened, McpToolsChanged, mcpConnectionMessageSchema, type McpConnectionMessage,
} from './messages.js';
import type { McpMetrics } from './metrics.js';
import { openSession, sessionGone, type McpSession, type McpToolInfo } from './session.js';

/** Where a connection is: opening a session, serving calls, or waiting to retry. */
export type McpConnectionState = 'connecting' | 'ready' | 'backoff' | 'stopped';

/** A connection as `GET /api/v1/mcp-servers/:name` shows it (no env, headers or args: they may hold secrets). */
export interface McpServerStatus {
  name: string;
  transport: 'stdio' | 'http';
  /** The transport in use once connected: `stdio`, `streamable-http` or `sse`. */
  session?: string;
  state: McpConnectionState;
  tools: Array<{ name: string; description?: string }>;
  restarts: number;
  /** Tool lists the server pushed since the connection came up (`notifications/tools/list_changed`). */
  toolListChanges: number;
  lastError?: string;
  connectedAt?: string;
  calls: { ok: number; failed: number; inFlight: number; meanLatencyMs: number };
}

/** Restart backoff forgets earlier failures after this long connected. */
const BACKOFF_RESET_MS = 60_000;

/**
 * One supervised connection actor per configured MCP server (`/system/mcp-<name>`). It opens
 * the session (spawns the process, or opens a Streamable HTTP session), initializes, lists
 * the tools and keeps the list fresh on `notifications/tools/list_changed`. When the process
 * dies or the session is lost (an HTTP 404) it opens a new session after an exponential
 * backoff with jitter, on the node's clock. Calls are asked of it: while it is not ready they
 * fail at once with TROUPE_ERR_MCP_SERVER_DOWN; else they run concurrently on the client,
 * with a time limit and the caller's cancellation. What the actor knows (state, tools,
 * counts) is readable synchronously from this object, so agents' tool lists need no ask.
 *
 * @example
 * const conn = node.module<McpServers>(MCP_MODULE).connection('memory');
 * conn.state; // 'ready'
 * conn.status().tools.map((t) => t.name); // ['create_entities', ...]
 */
export class McpConnection {
  readonly ref: ActorRef<McpConnectionMessage>;
  state: McpConnectionState = 'connecting';
  tools: McpToolInfo[] = [];
  private session: McpSession | undefined;
  private generation = 0;
  private restarts = 0;
  private toolListChanges = 0;
  private lastError: string | undefined;
  private connectedAt: number | undefined;
  private readonly calls = { ok: 0, failed: 0, inFlight: 0, totalMs: 0 };
  private readonly backoff: BackoffState;
  private readonly log: Logger;

  constructor(
    readonly config: McpServerConfig,
    private readonly host: Pick<ModuleHost, 'spawnSpec' | 'tell' | 'clock' | 'logger' | 'emit'>,
    private readonly metrics: McpMetrics,
    private readonly random: () => number,
  ) {
    this.log = host.logger.child({ module: 'mcp', server: config.name });
    this.backoff = new BackoffState({ minMs: config.backoffMinMs, maxMs: config.backoffMaxMs, randomFactor: 0.2, resetAfterMs: BACKOFF_RESET_MS });
    const b: Behaviour<undefined, McpConnectionMessage> = {
      messages: mcpConnectionMessageSchema,
      receive: (_s, m, ctx) => this.receive(m, ctx),
      signal: (_s, sig, ctx) => {
        if (sig.type === 'signal.started') this.connect(ctx);
        else if (sig.type === 'signal.stopping' || sig.type === 'signal.restarting') this.drop(sig.type === 'signal.stopping' ? 'stopped' : 'connecting');
      },
    };
    this.ref = host.spawnSpec({ name: `mcp-${config.name}`, behaviour: b, mailboxCapacity: 10_000 }, 'system') as ActorRef<McpConnectionMessage>;
  }

  /** The status for the REST API. */
  status(): McpServerStatus {
    return {
      name: this.config.name,
      transport: this.config.transport,
      ...(this.session ? { session: this.session.kind } : {}),
      state: this.state,
      tools: this.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}) })),
      restarts: this.restarts,
      toolListChanges: this.toolListChanges,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.connectedAt !== undefined ? { connectedAt: new Date(this.connectedAt).toISOString() } : {}),
      calls: { ok: this.calls.ok, failed: this.calls.failed, inFlight: this.calls.inFlight, meanLatencyMs: this.calls.ok + this.calls.failed === 0 ? 0 : Math.round(this.calls.totalMs / (this.calls.ok + this.calls.failed)) },
    };
  }

  /** The pid of the server's process (stdio, while connected). */
  get pid(): number | undefined {
    return this.session?.pid;
  }

  private receive(m: McpConnectionMessage, ctx: Context<McpConnectionMessage>): void {
    switch (m.type) {
      case 'mcp.connect':
        if (m.generation === this.generation) this.connect(ctx);
        return;
      case 'mcp.opened':
        if (m.generation !== this.generation || this.state === 'stopped') {
          void m.session.close().catch(() => undefined);
          return;
        }
        this.session = m.session;
        this.tools = m.session.tools;
        this.state = 'ready';
        this.connectedAt = this.host.clock.now();
        this.lastError = undefined;
        this.log.info({ tools: this.tools.length, session: m.session.kind, pid: m.session.pid }, 'MCP server connected');
        ctx.pipeToSelf(m.session.closed, () => new McpLost(m.generation, 'the server closed the connection (process exited)'));
        this.changed();
        return;
      case 'mcp.open-failed':
        if (m.generation !== this.generation) return;
        this.lastError = messageOf(m.error);
        this.log.warn({ err: m.error }, 'MCP server did not connect; retrying after backoff');
        this.retry(ctx);
        return;
      case 'mcp.lost':
        if (m.generation !== this.generation || this.state !== 'ready') return;
        this.lastError = m.reason;
        this.restarts += 1;
        this.log.warn({ reason: m.reason }, 'MCP server connection lost; reconnecting after backoff');
        this.drop('backoff');
        this.retry(ctx);
        return;
      case 'mcp.tools-changed':
        if (m.generation !== this.generation || this.state !== 'ready') return;
        this.tools = m.tools;
        this.toolListChanges += 1;
        this.log.info({ tools: m.tools.length }, 'MCP tool list changed');
        this.changed();
        return;
      case 'mcp.call':
        this.call(m, ctx);
        return;
      case 'mcp.call-done':
        if (m.ok) this.calls.ok += 1;
        else this.calls.failed += 1;
        this.calls.totalMs += m.ms;
        if (m.sessionLost && m.generation === this.generation && this.state === 'ready') {
          this.receive(new McpLost(m.generation, 'the session was lost during a call (the server forgot it, or did not answer)'), ctx);
        }
        return;
    }
  }

  private connect(ctx: Context<McpConnectionMessage>): void {
    this.generation += 1;
    const generation = this.generation;
    this.state = 'connecting';
    this.changed();
    const opening = openSession(this.config, this.log, (tools) => this.tellSelf(new McpToolsChanged(generation, tools)), (reason) => this.tellSelf(new McpLost(generation, reason)))
      .then(async (s) => {
        // stopped or superseded meanwhile: nobody will own this session, so it closes here
        if (generation !== this.generation) {
          await s.close().catch(() => undefined);
          throw new Error('superseded');
        }
        return s;
      });
    ctx.pipeToSelf(
      opening,
      (s) => new McpOpened(generation, s),
      (e) => new McpOpenFailed(generation, e),
    );
  }

  private retry(ctx: Context<McpConnectionMessage>): void {
    this.generation += 1;
    this.state = 'backoff';
    const delay = this.backoff.next(this.host.clock.now(), this.random());
    ctx.timers.startSingle('connect', delay, new McpConnect(this.generation));
    this.changed();
  }

  /** Close the session (if any) and move to `state`. */
  private drop(state: McpConnectionState): void {
    const s = this.session;
    this.session = undefined;
    // while it reconnects the agents keep seeing its tools: a call fails fast with
    // TROUPE_ERR_MCP_SERVER_DOWN, which the model reads, instead of the tool vanishing
    if (state === 'stopped') this.tools = [];
    this.connectedAt = undefined;
    this.state = state;
    if (s) void s.close().catch((e: unknown) => this.log.debug({ err: e }, 'MCP session close failed'));
    if (state === 'stopped') this.generation += 1;
    this.changed();
  }

  private call(m: McpCall, ctx: Context<McpConnectionMessage>): void {
    const session = this.session;
    if (this.state !== 'ready' || !session) {
      ctx.replyError(new TroupeError('TROUPE_ERR_MCP_SERVER_DOWN', `MCP server ${this.config.name} is ${this.state}${this.lastError ? ` (${this.lastError.slice(0, 200)})` : ''}`));
      return;
    }
    const r = ctx.replier();
    const started = this.host.clock.now();
    const generation = this.generation;
    this.calls.inFlight += 1;
    const done = (ok: boolean, sessionLost: boolean): void => {
      this.calls.inFlight -= 1;
      const ms = this.host.clock.now() - started;
      this.metrics.observeCall(this.config.name, ok, ms / 1000);
      this.host.emit({ type: 'mcp.call', server: this.config.name, tool: m.tool, ok, durationMs: ms });
      this.tellSelf(new McpCallDone(generation, ok, ms, sessionLost));
    };
    session.client.callTool({ name: m.tool, arguments: m.args }, undefined, { timeout: m.timeoutMs, ...(m.signal ? { signal: m.signal } : {}) })
      .then((res) => {
        done((res as CallToolResult).isError !== true, false);
        r.reply(res);
      }, (e: unknown) => {
        const lost = sessionGone(e);
        done(false, lost);
        r.error(this.callError(e, m));
      });
  }

  private callError(e: unknown, m: McpCall): TroupeError {
    const name = this.config.name;
    if (m.signal?.aborted) return new TroupeError('TROUPE_ERR_AGENT_CANCELLED', `MCP call ${name}/${m.tool} cancelled`, { cause: e });
    if (e instanceof McpError && e.code === McpErrorCode.RequestTimeout) {
      return new TroupeError('TROUPE_ERR_MCP_CALL_TIMEOUT', `MCP call ${name}/${m.tool} got no result within ${m.timeoutMs}ms`, { cause: e });
    }
    if (sessionGone(e) || (e instanceof McpError && e.code === McpErrorCode.ConnectionClosed) || (e instanceof Error && /not connected/i.test(e.message))) {
      return new TroupeError('TROUPE_ERR_MCP_SERVER_DOWN', `MCP server ${name} went away during the call`, { cause: e });
    }
    return new TroupeError('TROUPE_ERR_TOOL_FAILED', `MCP call ${name}/${m.tool} failed: ${messageOf(e).slice(0, 500)}`, { cause: e });
  }

  /** A message to this actor from outside its turn (SDK callbacks); once it stopped, nobody needs it. */
  private tellSelf(m: McpConnectionMessage): void {
    try {
      this.host.tell(this.ref, m);
    } catch (e) {
      this.log.debug({ err: e, type: m.type }, 'MCP connection message not delivered');
    }
  }

  private changed(): void {
    this.metrics.setState(this.config.name, this.state, this.tools.length);
    this.host.emit({
      type: 'mcp.connection', server: this.config.name, state: this.state, tools: this.tools.length, restarts: this.restarts,
      ...(this.lastError ? { error: this.lastError.slice(0, 200) } : {}),
    });
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
