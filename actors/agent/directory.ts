import type { Logger } from 'pino';
import { z } from 'zod';
import type { AskOptions, Context } from '../kernel/index.js';
import type { ActorSpec } from '../kernel/index.js';
import type { ActorRef } from '../kernel/index.js';
import { instancesOr } from '../kernel/index.js';
import { agentDescriptionSchema, agentSummarySchema, summaryOf, type AgentDescription, type AgentInfo, type AgentSummary } from './info.js';
import type { AgentStatus } from './messages.js';
import { AGENT_NAME_RE } from './spec.js';

/** The directory's path on every node: how nodes learn each other's agents. */
export const DIRECTORY_PATH = 'system/agents';

/** How long a cluster-wide lookup waits for each other node's directory. */
const DIRECTORY_TIMEOUT_MS = 1_000;
/** How long removing an agent of another node may take (its last commits settle first). */
const REMOVE_TIMEOUT_MS = 10_000;
/** Agents one node's answer may list. */
const MAX_LISTED = 10_000;

/** What other nodes may ask a directory (checked: they arrive over the wire). */
const peerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('agents.list') }),
  z.object({ type: z.literal('agents.get'), name: z.string().max(64) }),
  z.object({ type: z.literal('agents.describe'), name: z.string().max(64) }),
  z.object({ type: z.literal('agents.catalog') }),
  z.object({ type: z.literal('agents.remove'), name: z.string().max(64) }),
]);
type PeerMessage = z.infer<typeof peerMessageSchema>;

/** What this node's own code (the gateway actor, for the HTTP routes) asks its directory. */
export type DirectoryOp =
  | { op: 'catalog' }
  | { op: 'models' }
  | { op: 'model'; name: string }
  | { op: 'describe'; name: string }
  | { op: 'create'; spec: unknown }
  | { op: 'remove'; name: string };

/**
 * A command of this node to its directory: an instance, never a wire message, so only code
 * of this node can create or remove agents through it.
 *
 * @example
 * await gateway.request({ kind: 'actor', address: DIRECTORY_PATH }, new DirectoryCommand({ op: 'describe', name: 'helper' }));
 */
export class DirectoryCommand {
  readonly type = 'agents.command' as const;
  constructor(readonly command: DirectoryOp) {}
}

type DirectoryMessage = PeerMessage | DirectoryCommand;

const DIRECTORY_INSTANCES = [DirectoryCommand] as const;
const directoryMessageSchema: z.ZodType<DirectoryMessage> = instancesOr(DIRECTORY_INSTANCES, peerMessageSchema);

/** What the directory needs of the registry and the node. */
export interface DirectoryBackend {
  readonly logger: Logger;
  list(): AgentInfo[];
  get(name: string): AgentInfo | undefined;
  status(name: string): Promise<AgentStatus>;
  create(spec: unknown): Promise<AgentInfo>;
  remove(name: string): Promise<boolean>;
  toolNames(): string[];
  /** A live agent anywhere in the cluster. */
  locate(name: string): Promise<ActorRef | undefined>;
  peers(): string[];
  ask<R = unknown>(target: string, message: unknown, options?: AskOptions): Promise<R>;
  spawnSpec(spec: ActorSpec, under?: 'user' | 'system'): ActorRef;
}

/**
 * The agent directory (`/system/agents`, one per node): answers other nodes about this
 * node's agents, and this node's HTTP routes (through the gateway actor) about the
 * cluster's, so `/v1/models` and the agents API see every node's agents.
 */
export class AgentDirectory {
  constructor(private readonly b: DirectoryBackend) {
    b.spawnSpec({
      name: 'agents',
      behaviour: {
        messages: directoryMessageSchema,
        instances: DIRECTORY_INSTANCES,
        receive: (_s: unknown, m: DirectoryMessage, ctx: Context<DirectoryMessage>) => this.receive(m, ctx),
      },
    }, 'system');
  }

  private receive(m: DirectoryMessage, ctx: Context<DirectoryMessage>): void {
    if (m instanceof DirectoryCommand) {
      const r = ctx.replier();
      this.command(m.command).then((v) => r.reply(v), (e: unknown) => r.error(e));
      return;
    }
    switch (m.type) {
      case 'agents.list':
        ctx.reply(this.b.list().map(summaryOf));
        return;
      case 'agents.get': {
        const a = this.b.get(m.name);
        ctx.reply(a ? summaryOf(a) : null);
        return;
      }
      case 'agents.catalog':
        ctx.reply(this.b.list());
        return;
      case 'agents.remove': {
        const r = ctx.replier();
        this.b.remove(m.name).then((v) => r.reply(v), (e: unknown) => r.error(e));
        return;
      }
      case 'agents.describe': {
        const r = ctx.replier();
        this.describeOwn(m.name).then((v) => r.reply(v ?? null), (e: unknown) => r.error(e));
        return;
      }
    }
  }

  private async command(c: DirectoryOp): Promise<unknown> {
    switch (c.op) {
      case 'catalog':
        return { agents: await this.catalogCluster(), tools: this.b.toolNames() };
      case 'models':
        return this.listCluster();
      case 'model':
        return (await this.getAnywhere(c.name)) ?? null;
      case 'describe':
        return (await this.describeAnywhere(c.name)) ?? null;
      case 'create':
        return this.b.create(c.spec);
      case 'remove': {
        if (await this.b.remove(c.name)) return true;
        // another node's agent: that node's directory removes it
        const elsewhere = await this.describeAnywhere(c.name);
        if (!elsewhere) return false;
        return (await this.b.ask(`troupe://${elsewhere.node}/${DIRECTORY_PATH}`, { type: 'agents.remove', name: c.name }, { timeoutMs: REMOVE_TIMEOUT_MS })) === true;
      }
    }
  }

  /** One of this node's agents with its live figures, or undefined. */
  async describeOwn(name: string): Promise<AgentDescription | undefined> {
    const info = this.b.get(name);
    if (!info) return undefined;
    // a passivated agent holds no run: asking for its figures would only activate it
    const live = info.status === 'running' && info.passivated !== true ? await this.b.status(name).catch(() => undefined) : undefined;
    return live
      ? { ...info, live: { activeRuns: live.activeRuns, queuedRuns: live.queuedRuns, conversations: live.conversations, consecutiveFailures: live.consecutiveFailures } }
      : info;
  }

  /**
   * An agent anywhere in the cluster: this node's, else the first other node that knows it
   * (a stopped agent too, so its status shows).
   */
  async describeAnywhere(name: string): Promise<AgentDescription | undefined> {
    const own = await this.describeOwn(name);
    if (own || !AGENT_NAME_RE.test(name)) return own;
    const found = await this.firstPeer({ type: 'agents.describe', name }, agentDescriptionSchema);
    return found as AgentDescription | undefined;
  }

  /**
   * Every agent of the cluster in full (the agents API's listing): this node's, then those
   * of the other nodes that are up and answer within a second, a name once, this node's first.
   */
  async catalogCluster(): Promise<AgentInfo[]> {
    return this.mergeCluster(this.b.list(), 'agents.catalog', agentDescriptionSchema as unknown as z.ZodType<AgentInfo>);
  }

  /**
   * Every agent of the cluster: this node's, then those of the other nodes that are up and
   * answer within a second (a name on several nodes is listed once, this node's first).
   */
  async listCluster(): Promise<AgentSummary[]> {
    return this.mergeCluster(this.b.list().map(summaryOf), 'agents.list', agentSummarySchema);
  }

  /** This node's entries, then each up peer's answer to `type` (checked), a name once, sorted by name. */
  private async mergeCluster<T extends { name: string }>(own: T[], type: 'agents.catalog' | 'agents.list', schema: z.ZodType<T>): Promise<T[]> {
    const peers = this.b.peers();
    if (peers.length === 0) return own;
    const theirs = await Promise.all(peers.map((node) => this.askDirectory(node, { type })));
    const seen = new Set(own.map((a) => a.name));
    const out = [...own];
    for (const list of theirs) {
      const infos = z.array(schema).max(MAX_LISTED).safeParse(list);
      if (!infos.success) continue;
      for (const a of infos.data) {
        if (seen.has(a.name)) continue;
        seen.add(a.name);
        out.push(a);
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** One agent of the cluster: this node's, the live one `locate` finds, or a stopped one a peer knows. */
  async getAnywhere(name: string): Promise<AgentSummary | undefined> {
    const own = this.b.get(name);
    if (own) return summaryOf(own);
    if (!AGENT_NAME_RE.test(name)) return undefined;
    const ref = await this.b.locate(name);
    if (ref) {
      const info = agentSummarySchema.safeParse(await this.askDirectory(ref.node, { type: 'agents.get', name }));
      if (info.success) return info.data;
    }
    return this.firstPeer({ type: 'agents.get', name }, agentSummarySchema);
  }

  /** The first answer of another node's directory that passes `schema` (they are asked at once). */
  private async firstPeer<T>(message: PeerMessage, schema: z.ZodType<T>): Promise<T | undefined> {
    const peers = this.b.peers();
    if (peers.length === 0) return undefined;
    return new Promise<T | undefined>((resolve) => {
      let left = peers.length;
      for (const node of peers) {
        void this.askDirectory(node, message).then((v) => {
          const r = v === null || v === undefined ? undefined : schema.safeParse(v);
          if (r?.success) resolve(r.data);
          else if (--left === 0) resolve(undefined);
        });
      }
    });
  }

  /** Ask another node's directory; undefined when it does not answer in time. */
  askDirectory(node: string, message: PeerMessage): Promise<unknown> {
    return this.b.ask(`troupe://${node}/${DIRECTORY_PATH}`, message, { timeoutMs: DIRECTORY_TIMEOUT_MS }).catch((e: unknown) => {
      this.b.logger.debug({ err: e, node }, 'agent directory did not answer');
      return undefined;
    });
  }
}
