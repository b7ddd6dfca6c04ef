import type { AgentEvents } from './events.js';
import type { AgentEntry } from './info.js';
import { IdleSweep, holdsNoRun } from './passivation.js';
import type { AgentHost } from './registry-types.js';

/** Path prefix of every agent's actors: `user/agents/<name>` (its supervisor) and `user/agents/<name>/agent`. */
export const AGENTS_PREFIX = 'user/agents/';

/** The agent name in an agent actor's or supervisor's path; undefined for any other path. */
function agentNameOf(path: string): string | undefined {
  if (!path.startsWith(AGENTS_PREFIX)) return undefined;
  const rest = path.slice(AGENTS_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return rest;
  return rest.slice(slash) === '/agent' ? rest.slice(0, slash) : undefined;
}

/** True for an agent actor's path (`user/agents/<name>/agent`), not its supervisor's. */
function isAgentActorPath(path: string): boolean {
  return path.endsWith('/agent') && path.indexOf('/', AGENTS_PREFIX.length) === path.length - '/agent'.length;
}

/**
 * Virtual agents on one node (as Orleans grains): an agent idle for its `passivateAfterMs`
 * (no run in flight or queued, nothing in its mailbox) is passivated, its actors stopped and
 * its memory left in its journal; it stays listed (directory, /v1/models, A2A cards) and
 * addressable, and the first message to its address, from this node or another, spawns its
 * actors again (the kernel's activator) before it is delivered, so senders never see the
 * difference and messages keep their order.
 *
 * @example
 * const passivation = new AgentPassivation(host, entries, events, (e) => spawnActors(e));
 * passivation.idle.track(entry); // once the entry's actors are up
 */
export class AgentPassivation {
  /** The idle sweep over live agents whose passivation is on. */
  readonly idle: IdleSweep<AgentEntry>;

  constructor(
    private readonly host: Pick<AgentHost, 'clock' | 'logger' | 'isClosing' | 'stop' | 'mailboxDepth' | 'addActivator'>,
    private readonly entries: ReadonlyMap<string, AgentEntry>,
    private readonly events: AgentEvents,
    private readonly spawnActors: (e: AgentEntry) => void,
  ) {
    this.idle = new IdleSweep<AgentEntry>(host.clock, (e) => host.mailboxDepth(e.agent) === 0, (e) => this.passivate(e));
    // The kernel asks only for a path with no live actor: a passivated agent's, or the agent
    // actor of a live supervisor that has not been asked anything yet (it is woken).
    host.addActivator(AGENTS_PREFIX, {
      addressable: (path) => {
        const name = agentNameOf(path);
        const e = name === undefined ? undefined : this.entries.get(name);
        if (e === undefined || e.status !== 'running') return false;
        return e.passivated || (e.actors?.up === true && isAgentActorPath(path));
      },
      activate: (path) => {
        const name = agentNameOf(path);
        if (name === undefined) return false;
        const e = this.entries.get(name);
        if (e === undefined || e.status !== 'running' || this.host.isClosing) return false;
        const actor = isAgentActorPath(path);
        if (!e.passivated) return actor && e.actors?.wake() === true;
        if (!this.activate(name)) return false;
        // a message for the agent actor itself wakes it with its supervisor
        return !actor || e.actors?.wake() === true;
      },
    });
  }

  /**
   * Passivate an agent: its actors stop (commits in flight still settle into its journal,
   * and an activation meanwhile recovers them too) and its entry stays, marked passivated.
   */
  passivate(entry: AgentEntry): void {
    const name = entry.data.name;
    if (this.entries.get(name) !== entry || entry.status !== 'running' || entry.passivated || this.host.isClosing) return;
    this.idle.untrack(entry);
    entry.passivated = true;
    entry.runs = undefined;
    entry.actors = undefined;
    void this.host.stop(entry.supervisor);
    this.events.emit({ type: 'agent.passivated', agent: name });
    this.host.logger.debug({ agent: name }, 'agent passivated');
  }

  /** Spawn a passivated agent's actors again (a message came for it); false when it is not passivated. */
  activate(name: string): boolean {
    const entry = this.entries.get(name);
    if (entry === undefined || !entry.passivated || entry.status !== 'running' || this.host.isClosing) return false;
    this.spawnActors(entry);
    this.events.emit({ type: 'agent.activated', agent: name });
    return true;
  }

  /** Passivate every agent that is idle now, whatever its idle time (its passivation on); returns how many. */
  passivateIdle(): number {
    let n = 0;
    for (const e of [...this.entries.values()]) {
      if (e.passivated || e.status !== 'running' || e.passivateAfterMs <= 0) continue;
      if (holdsNoRun(e) && this.host.mailboxDepth(e.agent) === 0) {
        this.passivate(e);
        n++;
      }
    }
    return n;
  }

  /** The node is closing: no more sweeps. */
  close(): void {
    this.idle.close();
  }
}
