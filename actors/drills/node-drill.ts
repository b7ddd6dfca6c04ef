import { TroupeError, within, type Clock } from '../../protocol/index.js';
import type { DrillReport, DrillRequest } from '../../supervisors/index.js';
import { networkFaults, type InspectionEvent, type NetworkFaults } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { sleepOn } from './clock-wait.js';
import { DRILL_ACTOR, type DrillLedger } from './drill-actor.js';

/** Durable messages a partition drill sends during the cut unless `rate` says otherwise. */
const DEFAULT_DURABLE = 10;
const POLL_MS = 20;

function net(host: ModuleHost): NetworkFaults {
  const n = networkFaults(host);
  if (!n) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'partition and kill-node drills need a cluster: this node runs no cluster link');
  return n;
}

/** The node a partition or kill-node drill targets: another member of this node's cluster. */
export function nodeTarget(host: ModuleHost, target: string): string {
  const n = net(host);
  if (target === host.id) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'a node drill targets another node, not this one');
  if (n.status(target) === undefined) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', `no member named ${target.slice(0, 128)} in this node's cluster`);
  return target;
}

/**
 * `partition`: this node's links to the target are cut for `durationMs` (both ways: new links
 * are dropped at the hello), `rate` durable messages are sent to the target meanwhile, then
 * the partition heals. The report has suspect, down, healed and up instants (timeline), the
 * first durable delivery after the heal (recoveredAt, on the receiver's clock), and the
 * ledger: sent, delivered once, lost, duplicates.
 *
 * `kill-node`: the target is asked to end its process with SIGKILL; the report has when this
 * node saw it suspect and down (detection) and, when it comes back within `durationMs`, up
 * again and answering (its rejoin: recoveredAt).
 */
export async function runNodeDrill(host: ModuleHost, req: DrillRequest, node: string, report: DrillReport, signal: AbortSignal): Promise<boolean> {
  const clock: Clock = host.clock;
  const n = net(host);
  const actor = `troupe://${node}/system/${DRILL_ACTOR}`;
  const timeline: Record<string, number> = {};
  report.timeline = timeline;
  const unsubscribe = host.inspect((e: InspectionEvent) => {
    if (report.injectedAt === undefined || !('node' in e) || e.node !== node) return;
    if (e.type === 'member.suspect') timeline['suspectAt'] ??= clock.now();
    else if (e.type === 'member.down') timeline['downAt'] ??= clock.now();
    else if (e.type === 'member.up' && (timeline['healedAt'] !== undefined || timeline['downAt'] !== undefined)) timeline['upAt'] ??= clock.now();
    if (e.type === 'member.suspect' || e.type === 'member.down') report.detectedAt ??= clock.now();
  });
  const ping = async (): Promise<boolean> =>
    n.status(node) === 'up' && (await within(clock, req.probeWithinMs, host.ask(actor, { type: 'drill.ping' }, { timeoutMs: req.probeWithinMs }).then(() => true, () => false))) === true;
  const probe = async (phase: 'before' | 'during' | 'after'): Promise<boolean> => {
    const at = clock.now();
    const ok = await ping();
    if (report.probes.length < 1_000) report.probes.push({ phase, at, ok, ...(ok ? { latencyMs: clock.now() - at } : { error: 'the node did not answer a ping in time' }) });
    return ok;
  };
  /** Probe until it holds or `deadline` passes; the instant it held, or undefined. */
  const recovered = async (deadline: number): Promise<number | undefined> => {
    while (!signal.aborted && clock.now() < deadline) {
      if (n.status(node) === 'up' && (await probe('during'))) return clock.now();
      await sleepOn(clock, POLL_MS, signal);
    }
    return undefined;
  };
  let heal: (() => void) | undefined;
  try {
    if (!(await probe('before'))) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', `node ${node} does not answer before the fault; nothing injected`);
    if (req.kind === 'kill-node') {
      // injected from the request on: on a busy node the peer's death may be noticed before its acceptance is read
      report.injectedAt = clock.now();
      await host.ask(actor, { type: 'drill.kill-node', drill: report.id }, { timeoutMs: req.probeWithinMs });
      const end = report.injectedAt + req.durationMs;
      while (!signal.aborted && clock.now() < end && timeline['downAt'] === undefined) await sleepOn(clock, POLL_MS, signal);
      const back = await recovered(end);
      if (back !== undefined) report.recoveredAt = back;
      await probe('after');
      return timeline['downAt'] !== undefined && report.recoveredAt !== undefined;
    }

    // partition
    heal = n.partition(node);
    report.injectedAt = clock.now();
    const count = req.rate ?? DEFAULT_DURABLE;
    for (let i = 0; i < count && !signal.aborted; i++) {
      await n.tellDurable(actor, { type: 'drill.durable', drill: report.id, n: i }, { correlationId: `${report.id}:d:${i}` });
      report.messages.sent++;
    }
    await sleepOn(clock, Math.max(0, report.injectedAt + req.durationMs - clock.now()), signal);
    heal();
    heal = undefined;
    timeline['healedAt'] = clock.now();
    const deadline = clock.now() + Math.max(req.durationMs, req.probeWithinMs);
    await recovered(deadline);
    let ledger: DrillLedger = { distinct: 0, duplicates: 0 };
    while (!signal.aborted && clock.now() < deadline) {
      ledger = await host.ask<DrillLedger>(actor, { type: 'drill.ledger', drill: report.id }, { timeoutMs: req.probeWithinMs }).catch(() => ledger);
      if (ledger.distinct >= report.messages.sent) break;
      await sleepOn(clock, POLL_MS, signal);
    }
    if (ledger.firstAt !== undefined) report.recoveredAt = ledger.firstAt;
    await probe('after');
    const m = report.messages;
    m.delivered = ledger.distinct;
    m.lost = Math.max(0, m.sent - ledger.distinct);
    m.duplicates = ledger.duplicates;
    return timeline['suspectAt'] !== undefined && timeline['upAt'] !== undefined && ledger.duplicates === 0;
  } finally {
    heal?.();
    unsubscribe();
  }
}
