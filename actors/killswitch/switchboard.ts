import type { Logger } from 'pino';
import { TroupeError } from '../../protocol/index.js';
import type { StoreDb } from '../../storage/index.js';
import type { AgentRegistry } from '../agent/index.js';
import type { ModuleHost } from '../modules/index.js';
import {
  covers, killSwitchRecordSchema, killSwitchReleaseSchema, killSwitchRequestSchema, switchKey,
  type KillSwitchRecord, type KillSwitchScope,
} from './record.js';

/** Most switches a node keeps engaged. */
const MAX_SWITCHES = 1_000;
/** Path of the actor that takes cluster-scope switches from other nodes. */
export const KILLSWITCH_ACTOR = 'killswitch';

/** The kill switch module's API. */
export interface KillSwitchApi {
  /** Engage a switch: runs in flight on covered agents are cancelled now; resolves once it is persisted. */
  engage(input: unknown, caller?: string): Promise<{ switch: KillSwitchRecord; aborted: number; agents: string[] }>;
  /** Release a switch; false when none was engaged with that scope and target. */
  release(input: unknown, caller?: string): Promise<boolean>;
  list(): KillSwitchRecord[];
  /** True when an engaged switch covers the agent on this node. */
  covered(agent: string): boolean;
}

/** What a cluster-scope switch travels to other nodes as. */
export type KillSwitchMessage =
  | { type: 'killswitch.engage'; record: KillSwitchRecord }
  | { type: 'killswitch.release'; scope: KillSwitchScope; target: string; by: string };

/**
 * The node's kill switches (seed 003 governance): each engaged switch is persisted before it
 * is acknowledged, comes back at start, cancels the runs in flight of every agent it covers
 * (their upstream requests aborted) and makes their new runs fail with 503
 * TROUPE_ERR_KILLSWITCH_ENGAGED until it is released. Agents spawned later are covered too.
 * Cluster-scope switches are told to every node that is up, a node-scope one naming another
 * node to that node.
 */
export class Switchboard implements KillSwitchApi {
  private readonly switches = new Map<string, KillSwitchRecord>();
  private readonly db: StoreDb | undefined;
  private readonly log: Logger;
  private readonly unsubscribe: () => void;

  constructor(private readonly host: ModuleHost, private readonly agents: AgentRegistry) {
    this.log = host.logger.child({ module: 'killswitch' });
    this.db = host.store?.db('killswitch');
    if (this.db) {
      for (const { value } of this.db.getRange({})) {
        const r = killSwitchRecordSchema.safeParse(value);
        if (r.success) this.switches.set(switchKey(r.data.scope, r.data.target), r.data);
        else this.log.warn('a stored kill switch failed validation; skipped');
      }
    }
    if (this.switches.size > 0) {
      this.log.warn({ switches: [...this.switches.values()].map((s) => ({ scope: s.scope, target: s.target, reason: s.reason, by: s.by })) }, 'kill switches engaged at start');
    }
    this.apply();
    this.unsubscribe = agents.events.subscribe((e) => {
      if (e.type === 'agent.spawned' && this.covered(e.agent)) this.halt(e.agent);
    });
  }

  close(): void {
    this.unsubscribe();
  }

  list(): KillSwitchRecord[] {
    return [...this.switches.values()].sort((a, b) => a.at - b.at);
  }

  covered(agent: string): boolean {
    return this.coverFor(agent) !== undefined;
  }

  async engage(input: unknown, caller = 'anonymous'): Promise<{ switch: KillSwitchRecord; aborted: number; agents: string[] }> {
    const p = killSwitchRequestSchema.safeParse(input);
    if (!p.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `invalid kill switch: ${p.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const req = p.data;
    const target = this.targetOf(req.scope, req.target);
    const by = req.by ? `${req.by} (${caller})` : caller;
    const record: KillSwitchRecord = { v: 1, scope: req.scope, target, reason: req.reason, by, at: this.host.clock.now(), origin: this.host.id };
    const outcome = await this.adopt(record);
    for (const peer of this.reach(req.scope, target)) this.tellPeer(peer, { type: 'killswitch.engage', record });
    return { switch: record, ...outcome };
  }

  async release(input: unknown, caller = 'anonymous'): Promise<boolean> {
    const p = killSwitchReleaseSchema.safeParse(input);
    if (!p.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `invalid kill switch release: ${p.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const target = this.targetOf(p.data.scope, p.data.target);
    const by = p.data.by ? `${p.data.by} (${caller})` : caller;
    const released = await this.drop(p.data.scope, target, by);
    for (const peer of this.reach(p.data.scope, target)) this.tellPeer(peer, { type: 'killswitch.release', scope: p.data.scope, target, by });
    return released;
  }

  /** A switch from another node: cluster scope, or node scope naming this node. */
  async received(msg: KillSwitchMessage): Promise<void> {
    const mine = (scope: KillSwitchScope, target: string): boolean => scope === 'cluster' || (scope === 'node' && target === this.host.id);
    if (msg.type === 'killswitch.engage') {
      const r = killSwitchRecordSchema.safeParse(msg.record);
      if (!r.success || !mine(r.data.scope, r.data.target)) return;
      await this.adopt(r.data);
    } else if (mine(msg.scope, msg.target)) {
      await this.drop(msg.scope, msg.target, msg.by);
    }
  }

  /** The other nodes a switch is told to: every node that is up (cluster), or the node it names. */
  private reach(scope: KillSwitchScope, target: string): string[] {
    if (scope === 'cluster') return this.host.peers();
    if (scope === 'node' && target !== this.host.id) return [target];
    return [];
  }

  /** Persist (before anything is acknowledged), then cancel what it covers. */
  private async adopt(record: KillSwitchRecord): Promise<{ aborted: number; agents: string[] }> {
    const key = switchKey(record.scope, record.target);
    if (!this.switches.has(key) && this.switches.size >= MAX_SWITCHES) {
      throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `this node already keeps ${MAX_SWITCHES} kill switches; release some first`);
    }
    if (this.db) await this.host.store!.put(this.db, key, record);
    this.switches.set(key, record);
    this.log.warn({ scope: record.scope, target: record.target, reason: record.reason, by: record.by, origin: record.origin }, 'kill switch engaged');
    return this.apply();
  }

  private async drop(scope: KillSwitchScope, target: string, by: string): Promise<boolean> {
    const key = switchKey(scope, target);
    const had = this.switches.get(key);
    if (!had) return false;
    if (this.db) await this.host.store!.remove(this.db, key);
    this.switches.delete(key);
    this.log.warn({ scope, target, reason: had.reason, by }, 'kill switch released');
    for (const name of this.agents.names()) if (!this.covered(name)) this.agents.upstream(name)?.release();
    return true;
  }

  /** Halt every covered agent that is not halted yet. */
  private apply(): { aborted: number; agents: string[] } {
    let aborted = 0;
    const agents: string[] = [];
    for (const name of this.agents.names()) {
      if (!this.covered(name)) continue;
      agents.push(name);
      aborted += this.halt(name);
    }
    return { aborted, agents };
  }

  private halt(name: string): number {
    const sw = this.coverFor(name);
    const guard = this.agents.upstream(name);
    if (!sw || !guard) return 0;
    const reason = `${sw.reason} (kill switch ${sw.scope}:${sw.target} by ${sw.by})`;
    // model calls in flight are aborted here, at once; the agent cancels its other runs (in tool calls, queued)
    const aborted = guard.halt(reason);
    const agent = this.agents.resolve(name);
    if (agent) {
      try {
        this.host.tell(agent, { type: 'agent.halt', reason: reason.slice(0, 1_000) });
      } catch (e) {
        this.log.warn({ err: e, agent: name }, 'could not tell the agent to cancel its runs');
      }
    }
    return aborted;
  }

  private coverFor(agent: string): KillSwitchRecord | undefined {
    for (const s of this.switches.values()) if (covers(s, agent, this.host.id)) return s;
    return undefined;
  }

  private targetOf(scope: KillSwitchScope, target: string | undefined): string {
    if (scope === 'cluster') return '*';
    if (scope === 'node') return target ?? this.host.id;
    if (target === undefined) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `a ${scope} kill switch names its target`);
    return target;
  }

  private tellPeer(peer: string, msg: KillSwitchMessage): void {
    try {
      this.host.tell(`troupe://${peer}/system/${KILLSWITCH_ACTOR}`, msg);
    } catch (e) {
      this.log.warn({ err: e, peer }, 'could not tell a peer of a cluster kill switch');
    }
  }
}
