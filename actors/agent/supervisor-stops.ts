import { formatAddress, type SerializedError } from '../../protocol/index.js';
import type { InspectionEvent } from '../kernel/index.js';
import { AGENTS_PREFIX } from './agent-passivation.js';
import type { AgentEvents } from './events.js';
import type { AgentEntry } from './info.js';
import type { AgentHost } from './registry-types.js';

/**
 * Marks an agent stopped when its supervisor stops for good (its restart intensity spent, refused
 * credentials, `/user/agents` going down) from the node's inspection stream: one subscriber
 * for every agent, where a death watch per agent cost a watcher, two sets and two closures
 * (about half a kilobyte of each idle agent). The kernel reports a supervisor's removal
 * (`supervisor.decision`, with the error) and then its stop (`actor.stopped`) synchronously,
 * in that order, so the stop is known at once and its reason is the error, as a watch's
 * notice would say. A stop the registry made itself (removal, passivation, shutdown) is not
 * one: the entry is gone, passivated, or the node is closing by then.
 *
 * @example
 * const stops = new SupervisorStops(host, entries, events, (entry) => sweep.untrack(entry));
 */
export class SupervisorStops {
  /** `troupe://<node>/user/agents/`: what every agent's supervisor address starts with. */
  private readonly prefix: string;
  /** The last supervisor `/user/agents` removed, with why (read by the stop that follows). */
  private removed: { address: string; error: SerializedError } | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly host: Pick<AgentHost, 'id' | 'inspect' | 'isClosing' | 'logger'>,
    private readonly entries: ReadonlyMap<string, AgentEntry>,
    private readonly events: AgentEvents,
    /** The idle sweep lets go of it. */
    private readonly untrack: (entry: AgentEntry) => void,
  ) {
    this.prefix = formatAddress(host.id, AGENTS_PREFIX);
    this.unsubscribe = host.inspect((e) => this.observe(e));
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(e: InspectionEvent): void {
    if (e.type === 'supervisor.decision') {
      if (e.plan === 'remove' && e.error !== undefined && this.nameOf(e.child) !== undefined) this.removed = { address: e.child, error: e.error };
      return;
    }
    if (e.type !== 'actor.stopped') return;
    const name = this.nameOf(e.address);
    if (name === undefined) return;
    const removed = this.removed?.address === e.address ? this.removed : undefined;
    this.removed = undefined;
    const entry = this.entries.get(name);
    if (entry === undefined || entry.status !== 'running' || entry.passivated || this.host.isClosing) return;
    const reason = removed !== undefined ? `${removed.error.code}: ${removed.error.message}` : e.reason;
    this.untrack(entry);
    entry.status = 'stopped';
    entry.stoppedReason = reason;
    this.host.logger.error({ agent: name, reason }, 'agent stopped for good');
    this.events.emit({ type: 'agent.stopped', agent: name, reason });
  }

  /** The agent name of a supervisor's address (`troupe://<node>/user/agents/<name>`); undefined for any other. */
  private nameOf(address: string): string | undefined {
    if (!address.startsWith(this.prefix)) return undefined;
    const name = address.slice(this.prefix.length);
    return name.length === 0 || name.includes('/') ? undefined : name;
  }
}
