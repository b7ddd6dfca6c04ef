import { TroupeError, type Clock } from '../../protocol/index.js';
import type { DrillReport, DrillRequest } from '../../supervisors/index.js';
import { AGENTS_MODULE, type AgentEvent, type AgentRegistry } from '../agent/index.js';
import type { ModuleHost } from '../modules/index.js';
import { firstSuccess, sleepOn } from './clock-wait.js';
import { SlowSseClient, fastStreamingRun, type GatewayAccess } from './slow-sse-client.js';
import { upstreamTarget } from './upstream-drill.js';

/** What the agent writes to the slow client unless `answerBytes` says otherwise. */
const DEFAULT_ANSWER_BYTES = 64 * 1024 * 1024;
/** The slow client's pause between two chunks unless `readEveryMs` says otherwise. */
const DEFAULT_READ_EVERY_MS = 100;
/** Gap between the other clients' probes while the slow stream is open. */
const PROBE_GAP_MS = 50;

/** The process memory the node's own buffers live in (V8 heap and Buffers). */
function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * The `slow-client` drill: a real HTTP client opens a streaming chat completion on the
 * node's own gateway and reads it slower than the agent writes (the agent's model is set,
 * for that one run, to write `answerBytes` as fast as it can). The hypothesis: the run is
 * not stalled forever (the gateway's `sseMaxBufferedBytes` guard cuts the stream with a coded
 * error event and cancels the run), the node's memory stays bounded, and other streaming
 * clients of the same agent are answered before, during and after. The report has the cut
 * (detectedAt: the run's cancellation), the first answered probe after it (recoveredAt),
 * the ledger of the drill's runs (the slow one counts as answered when its stream ended with
 * a coded error event), client errors by code, and the `stream` figures.
 * Resolves with whether the kind's own expectation held.
 */
export async function runSlowClientDrill(host: ModuleHost, req: DrillRequest, path: string, report: DrillReport, signal: AbortSignal, access: GatewayAccess | undefined): Promise<boolean> {
  const clock: Clock = host.clock;
  const name = upstreamTarget(host, path);
  if (!access) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'the slow-client drill needs this node\'s HTTP gateway: the node serves none');
  const agents = host.module<AgentRegistry>(AGENTS_MODULE);
  const answerBytes = req.answerBytes ?? DEFAULT_ANSWER_BYTES;
  const timeline: Record<string, number> = {};
  report.timeline = timeline;
  const marker = `${report.id}:slow`;
  let slowRun: string | undefined;
  let cut: AgentEvent | undefined;
  const early: AgentEvent[] = [];
  const unsubscribe = agents.events.subscribe((e: AgentEvent) => {
    if (e.type !== 'agent.run.finished' || e.agent !== name) return;
    if (slowRun === undefined) early.push(e);
    else if (e.runId === slowRun) cut ??= e;
  });
  let seq = 0;
  const probe = async (phase: 'before' | 'during' | 'after'): Promise<boolean> => {
    const at = clock.now();
    const o = await fastStreamingRun(access, name, `drill ${report.id} probe ${seq++}`, req.probeWithinMs, clock);
    if (report.probes.length < 1_000) report.probes.push({ phase, at, ok: o.ok, ...(o.ok ? { latencyMs: clock.now() - at } : { error: (o.code ?? 'failed').slice(0, 256) }) });
    if (phase === 'during') {
      report.messages.sent++;
      if (o.ok || o.code?.startsWith('TROUPE_ERR_')) report.messages.delivered++;
      else report.messages.lost++;
      if (!o.ok) report.clientErrors[o.code ?? 'failed'] = (report.clientErrors[o.code ?? 'failed'] ?? 0) + 1;
    }
    return o.ok;
  };
  let disarm: (() => void) | undefined;
  let client: SlowSseClient | undefined;
  try {
    if (!(await probe('before'))) {
      throw new TroupeError('TROUPE_ERR_DRILL_TARGET', `the agent does not answer a streaming client before the fault (${report.probes.at(-1)?.error ?? 'failed'}); nothing injected`);
    }
    const guard = agents.upstream(name)!;
    const base = memory();
    let peak = base;
    const until = clock.now() + req.durationMs;
    disarm = guard.inject({ mode: 'verbose', until, bytes: answerBytes, match: marker });
    report.injectedAt = clock.now();
    client = new SlowSseClient(access, name, `drill ${marker}`, req.readEveryMs ?? DEFAULT_READ_EVERY_MS, clock);
    report.messages.sent++;
    const status = await client.open();
    if (status !== 200) {
      await client.whenEnded(req.probeWithinMs);
      throw new TroupeError('TROUPE_ERR_DRILL_TARGET', `the slow client's request was answered with HTTP ${status}${client.endedWith ? ` (${client.endedWith})` : ''}; nothing to drill`);
    }
    timeline['slowStreamOpenAt'] = clock.now();
    // the run id is in the stream's first chunk
    while (!signal.aborted && client.runId === undefined && !client.ended && clock.now() < until) await sleepOn(clock, 5, signal);
    slowRun = client.runId;
    cut = early.find((e) => e.type === 'agent.run.finished' && e.runId === slowRun);
    // other clients are answered while the slow one holds its stream; the cut ends the wait
    while (!signal.aborted && cut === undefined && clock.now() < until) {
      peak = Math.max(peak, memory());
      await probe('during');
      peak = Math.max(peak, memory());
      await sleepOn(clock, PROBE_GAP_MS, signal);
    }
    if (cut !== undefined) timeline['runEndedAt'] = clock.now();
    // detected: the guard cut the stream and cancelled the run (a run that ended otherwise was not cut)
    if (cut?.type === 'agent.run.finished' && cut.outcome === 'cancelled') {
      report.detectedAt = timeline['runEndedAt']!;
      // recovery: the next client is answered as before
      const recoveredAt = await firstSuccess(clock, () => probe('during'), Math.max(req.durationMs, req.probeWithinMs), PROBE_GAP_MS, signal);
      if (recoveredAt !== undefined) report.recoveredAt = recoveredAt;
    }
    peak = Math.max(peak, memory());
    // the slow client now reads what waits in its socket and finds the event that ended the stream
    client.hurry();
    const ended = await client.whenEnded(req.probeWithinMs + req.durationMs);
    if (ended) timeline['slowClientEndAt'] = clock.now();
    const endedWith = client.endedWith;
    if (ended && (endedWith !== undefined || client.completed)) report.messages.delivered++;
    else report.messages.lost++;
    if (endedWith !== undefined) report.clientErrors[endedWith] = (report.clientErrors[endedWith] ?? 0) + 1;
    report.stream = {
      answerBytes, receivedBytes: client.receivedBytes, completed: client.completed,
      ...(endedWith !== undefined ? { endedWith } : {}), memoryGrowthBytes: Math.round(peak - base),
    };
    disarm();
    disarm = undefined;
    await probe('after');
    // held: the run was cut (not completed, not stalled), the client learnt why with a code, memory stayed well below the answer
    return cut !== undefined && cut.type === 'agent.run.finished' && cut.outcome === 'cancelled'
      && endedWith !== undefined && !client.completed && report.recoveredAt !== undefined
      && peak - base < answerBytes / 2;
  } finally {
    disarm?.();
    client?.close();
    unsubscribe();
  }
}
