import { isTroupeError, TroupeError, within, type Clock } from '../../protocol/index.js';
import type { DrillReport, DrillRequest } from '../../supervisors/index.js';
import { AGENTS_MODULE, type AgentEvent, type AgentRegistry } from '../agent/index.js';
import type { InspectionEvent } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { firstSuccess, sleepOn } from './clock-wait.js';

/** Runs sent to the agent during the fault unless `rate` says otherwise. */
const DEFAULT_RUNS = 3;
/** Gap between recovery probes. */
const PROBE_GAP_MS = 20;

/** The agent an `upstream` drill may target: `user/agents/<name>/agent` on this node. */
export function upstreamTarget(host: ModuleHost, path: string): string {
  const m = /^user\/agents\/([^/]+)\/agent$/.exec(path);
  if (!m || !host.hasModule(AGENTS_MODULE) || !host.module<AgentRegistry>(AGENTS_MODULE).upstream(m[1]!)) {
    throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'an upstream drill targets an agent of this node: agent:<name>');
  }
  return m[1]!;
}

/**
 * The `upstream` drill: the agent's model upstream fails for `durationMs` through the fault
 * hook of its upstream guard (429 with Retry-After, 500, a stalled or a slow stream), as the
 * openai provider would report it. Real runs go through the gateway actor before, during and
 * after; the report counts them (sent, answered, failed by code, lost), restarts, and when
 * the fault was detected (a pause, a failed call) and when the agent answered again.
 * Resolves with whether the kind's own expectation held.
 */
export async function runUpstreamDrill(host: ModuleHost, req: DrillRequest, path: string, report: DrillReport, signal: AbortSignal): Promise<boolean> {
  const clock: Clock = host.clock;
  const name = upstreamTarget(host, path);
  const agents = host.module<AgentRegistry>(AGENTS_MODULE);
  const address = host.toRef(path).address;
  const fault = req.fault ?? 'rate-limit';
  const unsubscribeAgents = agents.events.subscribe((e: AgentEvent) => {
    if (!('agent' in e) || e.agent !== name) return;
    // a pause says when it began (its clock read, not a later one: a log line may lie between)
    if (e.type === 'agent.upstream.paused') report.detectedAt ??= e.until - e.retryAfterMs;
    else if (e.type === 'agent.model.failed' || (e.type === 'agent.breaker' && e.state === 'open')) report.detectedAt ??= clock.now();
  });
  const unsubscribe = host.inspect((e: InspectionEvent) => {
    if (e.type === 'actor.restarted' && e.address === address) report.restarts++;
    else if (e.type === 'supervisor.decision' && e.child === address && e.plan === 'escalate') report.escalations++;
  });
  let seq = 0;
  const run = (content: string): Promise<void> =>
    agents.run(name, { input: [{ role: 'user', content }] }, { timeoutMs: Math.max(req.probeWithinMs, req.durationMs * 2), runId: `${report.id}:${seq++}` }).then(() => undefined);
  const probe = async (phase: 'before' | 'during' | 'after'): Promise<boolean> => {
    const at = clock.now();
    const outcome = await within(clock, req.probeWithinMs, run('drill probe').then(() => 'ok', (e: unknown) => (isTroupeError(e) ? e.code : 'failed')));
    const ok = outcome === 'ok';
    if (report.probes.length < 1_000) report.probes.push({ phase, at, ok, ...(ok ? { latencyMs: clock.now() - at } : { error: (outcome ?? 'no answer in time').slice(0, 256) }) });
    return ok;
  };
  let disarm: (() => void) | undefined;
  try {
    if (!(await probe('before'))) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'the steady-state hypothesis does not hold before the fault; nothing injected');
    const guard = agents.upstream(name)!;
    const until = clock.now() + req.durationMs;
    disarm = guard.inject({
      mode: fault, until,
      ...(req.retryAfterMs !== undefined ? (fault === 'slow' ? { delayMs: req.retryAfterMs } : { retryAfterMs: req.retryAfterMs }) : {}),
    });
    report.injectedAt = clock.now();
    const n = req.rate ?? DEFAULT_RUNS;
    const settled: Array<'answered' | 'failed' | 'pending'> = [];
    const during = Array.from({ length: n }, (_, i) => {
      report.messages.sent++;
      settled[i] = 'pending';
      return run(`drill run ${i}`).then(
        () => { settled[i] = 'answered'; },
        (e: unknown) => {
          settled[i] = 'failed';
          const code = isTroupeError(e) ? e.code : 'unknown';
          report.clientErrors[code] = (report.clientErrors[code] ?? 0) + 1;
          report.detectedAt ??= clock.now();
        },
      );
    });
    await sleepOn(clock, Math.max(0, until - clock.now()), signal);
    disarm();
    // recovery: the first run answered after the fault ended (a breaker may hold it a while)
    const recoveredAt = await firstSuccess(clock, () => probe('during'), Math.max(req.durationMs, req.probeWithinMs), PROBE_GAP_MS, signal);
    if (recoveredAt !== undefined) report.recoveredAt = recoveredAt;
    await within(clock, req.probeWithinMs + req.durationMs, Promise.all(during));
    await probe('after');
    const m = report.messages;
    m.delivered = settled.filter((s) => s === 'answered').length;
    // a run that failed with a coded error was answered too: the client knows; lost = no answer at all
    m.lost = settled.filter((s) => s === 'pending').length;
    const held = report.recoveredAt !== undefined && report.detectedAt !== undefined && (fault !== 'rate-limit' || report.restarts === 0);
    report.timeline = { faultEndsAt: until };
    return held;
  } finally {
    disarm?.();
    unsubscribe();
    unsubscribeAgents();
  }
}
