import type { Logger } from 'pino';
import { TroupeError } from '../../protocol/index.js';
import type { StoreDb } from '../../storage/index.js';
import type { AgentRegistry } from '../agent/index.js';
import type { ModuleHost } from '../modules/index.js';
import type { InspectionEvent } from '../kernel/index.js';
import {
  covers, killSwitchRecordSchema, killSwitchReleasedSchema, killSwitchReleaseSchema, killSwitchRequestSchema, newer, switchKey,
  type KillSwitchRecord, type KillSwitchReleased, type KillSwitchScope,
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
  | { type: 'killswitch.release'; scope: KillSwitchScope; target: string; by: string; at?: number; origin?: string };

/**
 * The node's kill switches (seed 003 governance): each engaged switch is persisted before it
 * is acknowledged, comes back at start, cancels the runs in flight of every agent it covers
 * (their upstream requests aborted) and makes their new runs fail with 503
 * TROUPE_ERR_KILLSWITCH_ENGAGED until it is released. Agents spawned later are covered too.
 * Cluster-scope switches are sent durably (the kernel's LMDB outbox) to every node this node
 * knows of, up or not, a node-scope one naming another node to that node: a node that is
 * down or cut off when a switch is engaged or released gets the change when it comes back,
 * also across restarts of either side. Each node that comes up is also sent the cluster
 * switches and releases held here (a node that joined later learns them). Changes carry
 * their time and origin; one older than what a node holds for that switch is ignored, so
 * late or reordered deliveries cannot undo a newer engage or release.
 */
export class Switchboard implements KillSwitchApi {
  private readonly switches = new Map<string, KillSwitchRecord>();
  private readonly released = new Map<string, KillSwitchReleased>();
  private readonly db: StoreDb | undefined;
  private readonly releasedDb: StoreDb | undefined;
  private readonly unsubscribeMembers: () => void;
  private readonly log: Logger;
  private readonly unsubscribe: () => void;

  constructor(private readonly host: ModuleHost, private readonly agents: AgentRegistry) {
    this.log = host.logger.child({ module: 'killswitch' });
    this.db = host.store?.db('killswitch');
    this.releasedDb = host.store?.db('killswitch.released');
    if (this.db) {
      for (const { value } of this.db.getRange({})) {
        const r = killSwitchRecordSchema.safeParse(value);
        if (r.success) this.switches.set(switchKey(r.data.scope, r.data.target), r.data);
        else this.log.warn('a stored kill switch failed validation; skipped');
      }
    }
    if (this.releasedDb) {
      for (const { value } of this.releasedDb.getRange({})) {
        const r = killSwitchReleasedSchema.safeParse(value);
        if (r.success) this.released.set(switchKey(r.data.scope, r.data.target), r.data);
        else this.log.warn('a stored kill switch release failed validation; skipped');
      }
    }
    if (this.switches.size > 0) {
      this.log.warn({ switches: [...this.switches.values()].map((s) => ({ scope: s.scope, target: s.target, reason: s.reason, by: s.by })) }, 'kill switches engaged at start');
    }
    this.apply();
    this.unsubscribe = agents.events.subscribe((e) => {
      if (e.type === 'agent.spawned' && this.covered(e.agent)) this.halt(e.agent);
    });
    this.unsubscribeMembers = host.inspect((e: InspectionEvent) => {
      if (e.type === 'member.up' && e.node !== host.id) void this.catchUp(e.node);
    });
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeMembers();
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
    const record: KillSwitchRecord = { v: 1, scope: req.scope, target, reason: req.reason, by, at: this.nextAt(req.scope, target), origin: this.host.id };
    const outcome = await this.adopt(record);
    await this.spread(req.scope, target, { type: 'killswitch.engage', record });
    return { switch: record, ...outcome };
  }

  async release(input: unknown, caller = 'anonymous'): Promise<boolean> {
    const p = killSwitchReleaseSchema.safeParse(input);
    if (!p.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `invalid kill switch release: ${p.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const target = this.targetOf(p.data.scope, p.data.target);
    const by = p.data.by ? `${p.data.by} (${caller})` : caller;
    const change: KillSwitchReleased = { v: 1, scope: p.data.scope, target, by, at: this.nextAt(p.data.scope, target), origin: this.host.id };
    const released = await this.drop(change);
    await this.spread(p.data.scope, target, { type: 'killswitch.release', scope: change.scope, target, by, at: change.at, origin: change.origin });
    return released;
  }

  /** A switch from another node: cluster scope, or node scope naming this node. */
  async received(msg: KillSwitchMessage): Promise<void> {
    const mine = (scope: KillSwitchScope, target: string): boolean => scope === 'cluster' || (scope === 'node' && target === this.host.id);
    if (msg.type === 'killswitch.engage') {
      const r = killSwitchRecordSchema.safeParse(msg.record);
      if (!r.success || !mine(r.data.scope, r.data.target)) return;
      const key = switchKey(r.data.scope, r.data.target);
      // already held, or older than the engage or release held here: nothing to do
      if (!newer(r.data, this.switches.get(key)) || !newer(r.data, this.released.get(key))) return;
      await this.adopt(r.data);
    } else if (mine(msg.scope, msg.target)) {
      const change: KillSwitchReleased = {
        v: 1, scope: msg.scope, target: msg.target, by: msg.by,
        // a release without a time (an older sender) is taken as the newest change
        at: msg.at ?? Number.MAX_SAFE_INTEGER, origin: msg.origin ?? 'unknown',
      };
      const key = switchKey(msg.scope, msg.target);
      if (!newer(change, this.switches.get(key)) || !newer(change, this.released.get(key))) return;
      await this.drop(change);
    }
  }

  /** The time of a new change of a switch: now, or just after the last change this node knows of. */
  private nextAt(scope: KillSwitchScope, target: string): number {
    const key = switchKey(scope, target);
    return Math.max(this.host.clock.now(), (this.switches.get(key)?.at ?? -1) + 1, (this.released.get(key)?.at ?? -1) + 1);
  }

  /** Send a change durably to the nodes it is for; resolves once each is in the outbox. */
  private async spread(scope: KillSwitchScope, target: string, msg: KillSwitchMessage): Promise<void> {
    await Promise.all(this.reach(scope, target).map((peer) => this.tellPeer(peer, msg)));
  }

  /** A node came up: send it the cluster switches and releases held here (and node ones naming it). */
  private async catchUp(node: string): Promise<void> {
    const forIt = (scope: KillSwitchScope, target: string): boolean => scope === 'cluster' || (scope === 'node' && target === node);
    const sends: Array<Promise<void>> = [];
    for (const r of this.switches.values()) if (forIt(r.scope, r.target)) sends.push(this.tellPeer(node, { type: 'killswitch.engage', record: r }));
    for (const t of this.released.values()) {
      if (forIt(t.scope, t.target)) sends.push(this.tellPeer(node, { type: 'killswitch.release', scope: t.scope, target: t.target, by: t.by, at: t.at, origin: t.origin }));
    }
    await Promise.all(sends);
  }

  /** The other nodes a switch is sent to: every node this node knows of (cluster), or the node it names. */
  private reach(scope: KillSwitchScope, target: string): string[] {
    if (scope === 'cluster') return this.host.knownPeers();
    if (scope === 'node' && target !== this.host.id) return [target];
    return [];
  }

  /** Persist (before anything is acknowledged), then cancel what it covers. */
  private async adopt(record: KillSwitchRecord): Promise<{ aborted: number; agents: string[] }> {
    const key = switchKey(record.scope, record.target);
    if (!this.switches.has(key) && this.switches.size >= MAX_SWITCHES) {
      throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `this node already keeps ${MAX_SWITCHES} kill switches; release some first`);
    }
    if (this.db) {
      const db = this.db;
      const releasedDb = this.releasedDb!;
      await this.host.store!.batch(() => {
        void db.put(key, record);
        void releasedDb.remove(key);
      });
    }
    this.switches.set(key, record);
    this.released.delete(key);
    this.log.warn({ scope: record.scope, target: record.target, reason: record.reason, by: record.by, origin: record.origin }, 'kill switch engaged');
    return this.apply();
  }

  /**
   * Release a switch (if engaged) and remember the release: a release of a switch other
   * nodes hold (cluster, or node scope naming another node) is kept, bounded, so that an
   * older engage reaching this node later stays released.
   */
  private async drop(change: KillSwitchReleased): Promise<boolean> {
    const { scope, target, by } = change;
    const key = switchKey(scope, target);
    const had = this.switches.get(key);
    const remember = scope === 'cluster' || scope === 'node';
    if (!had && !remember) return false;
    if (this.db) {
      const db = this.db;
      const releasedDb = this.releasedDb!;
      const oldest = remember && !this.released.has(key) && this.released.size >= MAX_SWITCHES ? this.released.keys().next().value : undefined;
      await this.host.store!.batch(() => {
        void db.remove(key);
        if (remember) void releasedDb.put(key, change);
        if (oldest !== undefined) void releasedDb.remove(oldest);
      });
    }
    this.switches.delete(key);
    if (remember) {
      this.released.delete(key);
      this.released.set(key, change);
      while (this.released.size > MAX_SWITCHES) this.released.delete(this.released.keys().next().value as string);
    }
    if (!had) return false;
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
    const agent = this.agents.awake(name);
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

  /** A durable tell to the peer's `/system/killswitch`; a failure to queue it is logged. */
  private async tellPeer(peer: string, msg: KillSwitchMessage): Promise<void> {
    try {
      await this.host.tellDurable(`troupe://${peer}/system/${KILLSWITCH_ACTOR}`, msg, { correlationId: `killswitch:${msg.type}` });
    } catch (e) {
      this.log.warn({ err: e, peer }, 'could not queue a kill switch change for a peer');
    }
  }
}
