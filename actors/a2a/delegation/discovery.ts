import { z } from 'zod';
import type { Clock } from '../../../protocol/index.js';
import type { AgentInfo, AgentSkill } from '../../agent/index.js';
import type { McpToolDescriptor } from '../../modules/index.js';

/** `GET /api/v1/agents?skill=...&q=...` (and the `a2a_discover` MCP tool): both optional. */
export const discoveryQuerySchema = z.object({
  /** A skill tag, id or name (case-insensitive, whole). */
  skill: z.string().trim().min(1).max(64).optional(),
  /** Words that must all appear in the agent's name, description or skills (case-insensitive). */
  q: z.string().trim().min(1).max(256).optional(),
});
export type DiscoveryQuery = z.infer<typeof discoveryQuerySchema>;

/** Agents a search returns at most. */
export const MAX_DISCOVERED = 1_000;

const lower = (s: string): string => s.toLowerCase();

type FullSkill = { id: string; name: string; tags: string[]; description?: string; examples?: string[] };

function hasSkill(a: Pick<AgentInfo, 'skills'>, skill: string): boolean {
  const want = lower(skill);
  return (a.skills as AgentSkill[]).some((s) => lower(s.id) === want || lower(s.name) === want || s.tags.some((t) => lower(t) === want));
}

function textOf(a: Pick<AgentInfo, 'name' | 'description' | 'skills'>): string {
  const parts = [a.name, a.description];
  for (const s of a.skills as FullSkill[]) parts.push(s.id, s.name, s.description ?? '', ...s.tags, ...(s.examples ?? []));
  return lower(parts.join('\n'));
}

/**
 * The running agents that fit a query: every one with the skill (a tag, id or name), whose
 * text holds every word of `q`. No query: every running agent.
 *
 * @example
 * searchAgents(agents, { skill: 'translate', q: 'french' }).map((a) => a.name); // ['translator']
 */
export function searchAgents<A extends Pick<AgentInfo, 'name' | 'description' | 'skills' | 'status'>>(agents: readonly A[], query: DiscoveryQuery): A[] {
  const words = query.q ? lower(query.q).split(/\s+/).filter((w) => w.length > 0) : [];
  const out: A[] = [];
  for (const a of agents) {
    if (a.status !== 'running') continue;
    if (query.skill !== undefined && !hasSkill(a, query.skill)) continue;
    if (words.length > 0) {
      const text = textOf(a);
      if (!words.every((w) => text.includes(w))) continue;
    }
    out.push(a);
    if (out.length >= MAX_DISCOVERED) break;
  }
  return out;
}

/** An agent as discovery shows it: its card's fields and where it runs. */
export function discovered(a: AgentInfo): { name: string; description: string; node: string; status: string; skills: AgentSkill[]; card: string } {
  return { name: a.name, description: a.description, node: a.node, status: a.status, skills: a.skills, card: `/a2a/${encodeURIComponent(a.name)}/.well-known/agent-card.json` };
}

/** How long the catalog the `delegate` tool describes is taken as current. */
const CATALOG_TTL_MS = 2_000;

/**
 * The cluster's agents as the `delegate` tool describes them: this node's at once (always
 * current), other nodes' from the last cluster catalog, refreshed in the background once it
 * is older than two seconds (a tool description is built synchronously, at every run).
 */
export class ClusterCatalog {
  private remote: AgentInfo[] = [];
  private at = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly local: () => AgentInfo[],
    /** Every agent of the cluster (this node's directory asks the others). */
    private readonly cluster: () => Promise<AgentInfo[]>,
  ) {}

  /** Every known running agent, this node's first, a name once. */
  list(): AgentInfo[] {
    if (this.clock.now() - this.at > CATALOG_TTL_MS) void this.refresh();
    const own = this.local();
    const names = new Set(own.map((a) => a.name));
    return [...own, ...this.remote.filter((a) => !names.has(a.name))].filter((a) => a.status === 'running');
  }

  /** Ask the cluster now (at most one refresh at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.cluster().then((all) => {
      this.remote = all;
      this.at = this.clock.now();
    }, () => undefined).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }
}

/**
 * The `a2a_discover` MCP tool: the agents of the cluster that fit a skill and words, with
 * their skills and where their cards are.
 */
export function discoverTool(cluster: () => Promise<AgentInfo[]>): McpToolDescriptor<DiscoveryQuery> {
  return {
    name: 'a2a_discover',
    description: 'Find agents of the cluster by skill (a tag, id or name) and words in their name, description or skills; lists their skills, node and A2A card.',
    input: discoveryQuerySchema,
    call: async (query) => ({ agents: searchAgents(await cluster(), query).map(discovered) }),
  };
}
