import type { Logger } from 'pino';
import { TroupeError, isTroupeError, newId, type ErrorCode } from '../../protocol/index.js';
import { NODE_DRILL_KINDS, drillRequestSchema, drillReportSchema, hypothesisOf, verdictOf, type DrillReport, type DrillRequest } from '../../supervisors/index.js';
import type { StoreDb } from '../../storage/index.js';
import { kernelFaults, type InspectionEvent, type KernelFaults } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { runUpstreamDrill, upstreamTarget } from './upstream-drill.js';
import { nodeTarget, runNodeDrill } from './node-drill.js';
import { runSlowClientDrill } from './slow-client-drill.js';
import type { GatewayAccess } from './slow-sse-client.js';
import { agentActorPath } from '../agent/index.js';

/** Reports kept (oldest dropped first). */
const MAX_REPORTS = 1_000;
/** Crashes a restart storm injects unless `rate` says otherwise (past every default intensity). */
const STORM_CRASHES = 20;
/** Gap between probes while waiting for recovery. */
const PROBE_GAP_MS = 20;

/** The drills module's API: run, list, get and abort drills; switch drills off. */
export interface DrillsApi {
  /**
   * Start a drill; resolves with its report once it is running (it finishes in the background).
   * `context.apiKey`: the key the slow-client drill's HTTP clients present to the gateway
   * (the routes pass the caller's own; held in memory for the drill only, never stored).
   */
  start(input: unknown, context?: DrillContext): DrillReport;
  /** Resolves with the final report. */
  finished(id: string): Promise<DrillReport>;
  list(): DrillReport[];
  get(id: string): DrillReport | undefined;
  abort(id: string): boolean;
  /** The global off switch: abort every drill and refuse new ones until the node restarts. */
  switchOff(): number;
  readonly enabled: boolean;
}

/** Who started a drill, for the drills that call the node's own gateway over HTTP. */
export interface DrillContext {
  apiKey?: string;
}

interface Running {
  report: DrillReport;
  abort: AbortController;
  done: Promise<DrillReport>;
}

/**
 * Runs drills on this node: each injects a real fault through the kernel's fault hooks,
 * probes the steady-state hypothesis before, during and after, watches the inspection stream
 * for detection, restarts, escalations and dead letters, and persists its report (LMDB
 * `drills` database when the node has a data dir).
 */
export class DrillRunner implements DrillsApi {
  private readonly reports = new Map<string, DrillReport>();
  private readonly running = new Map<string, Running>();
  private readonly faults: KernelFaults;
  private readonly db: StoreDb | undefined;
  private readonly log: Logger;
  private off = false;
  private gatewayUrl: () => string | undefined = () => undefined;

  constructor(private readonly host: ModuleHost, private readonly allowed: boolean) {
    this.faults = kernelFaults(host);
    this.log = host.logger.child({ module: 'drills' });
    this.db = host.store?.db('drills');
    if (this.db) {
      for (const { value } of this.db.getRange({})) {
        const r = drillReportSchema.safeParse(value);
        if (r.success) this.reports.set(r.data.id, r.data.status === 'running' ? { ...r.data, status: 'aborted', error: 'the node stopped during the drill' } : r.data);
        else this.log.warn('a stored drill report failed validation; skipped');
      }
    }
  }

  get enabled(): boolean {
    return this.allowed && !this.off;
  }

  /** Where this node's gateway listens (the module learns it when its routes are mounted). */
  listenAt(url: () => string | undefined): void {
    this.gatewayUrl = url;
  }

  start(input: unknown, context: DrillContext = {}): DrillReport {
    if (!this.allowed) throw new TroupeError('TROUPE_ERR_DRILL_DISABLED', 'drills are off on this node; start it with --allow-drills (TROUPE_ALLOW_DRILLS=true)');
    if (this.off) throw new TroupeError('TROUPE_ERR_DRILL_DISABLED', 'drills were switched off on this node');
    const parsed = drillRequestSchema.safeParse(input);
    if (!parsed.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `invalid drill: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    const req = parsed.data;
    const path = NODE_DRILL_KINDS.has(req.kind) ? nodeTarget(this.host, req.target) : this.resolveTarget(req.target);
    if (req.kind === 'upstream' || req.kind === 'slow-client') upstreamTarget(this.host, path);
    const url = req.kind === 'slow-client' ? this.gatewayUrl() : undefined;
    if (req.kind === 'slow-client' && url === undefined) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'the slow-client drill needs this node\'s HTTP gateway: the node serves none');
    const access: GatewayAccess | undefined = url === undefined ? undefined : { url, ...(context.apiKey !== undefined ? { apiKey: context.apiKey } : {}) };
    for (const r of this.running.values()) {
      if (r.report.target === path) throw new TroupeError('TROUPE_ERR_DRILL_RUNNING', `a drill is already running on ${path}`);
    }
    const report: DrillReport = {
      v: 1, id: `drill_${newId()}`, kind: req.kind, target: path, status: 'running', hypothesis: hypothesisOf(req),
      startedAt: this.host.clock.now(), restarts: 0, escalations: 0,
      messages: { sent: 0, delivered: 0, deadLettered: 0, lost: 0 }, clientErrors: {}, probes: [], verdict: 'pending',
    };
    const abort = new AbortController();
    this.remember(report);
    this.log.info({ drill: report.id, kind: req.kind, target: path }, 'drill started');
    // start answers at once (the report of a running drill); its record is committed right behind
    void this.audit('DRILL_START', { drill: report.id, kind: req.kind }, path);
    const done = this.run(req, path, report, abort.signal, access).then(
      () => this.finish(report, abort.signal.aborted ? 'aborted' : 'finished'),
      (e: unknown) => {
        report.error = (isTroupeError(e) ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e)).slice(0, 512);
        return this.finish(report, 'failed');
      },
    );
    this.running.set(report.id, { report, abort, done });
    return structuredClone(report);
  }

  async finished(id: string): Promise<DrillReport> {
    const r = this.running.get(id);
    if (r) return r.done;
    const rep = this.reports.get(id);
    if (!rep) throw new TroupeError('TROUPE_ERR_DRILL_NOT_FOUND', `no drill ${id}`);
    return rep;
  }

  list(): DrillReport[] {
    return [...this.reports.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  get(id: string): DrillReport | undefined {
    const r = this.reports.get(id);
    return r && structuredClone(r);
  }

  abort(id: string): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    r.abort.abort();
    return true;
  }

  switchOff(): number {
    this.off = true;
    for (const r of this.running.values()) r.abort.abort();
    this.log.warn({ aborted: this.running.size }, 'drills switched off');
    void this.audit('DRILL_SWITCH_OFF', { aborted: this.running.size });
    return this.running.size;
  }

  /** Abort everything (module drain). */
  async drain(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.allSettled(all.map((r) => r.done));
  }

  private resolveTarget(target: string): string {
    const path = target.startsWith('agent:') ? agentActorPath(target.slice(6)) : this.host.toRef(target).path;
    if (!path.startsWith('user/')) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'a drill target must be an actor under /user or an agent (agent:<name>)');
    if (!this.faults.alive(path)) throw new TroupeError('TROUPE_ERR_DRILL_TARGET', `no live actor at ${path} on this node`);
    return path;
  }

  private remember(report: DrillReport): void {
    this.reports.set(report.id, report);
    while (this.reports.size > MAX_REPORTS) {
      const oldest = this.reports.keys().next().value as string;
      this.reports.delete(oldest);
      void this.db?.remove(oldest);
    }
  }

  private async finish(report: DrillReport, status: DrillReport['status']): Promise<DrillReport> {
    report.status = status;
    report.endedAt = this.host.clock.now();
    this.running.delete(report.id);
    const checked = drillReportSchema.parse(report);
    try {
      await this.host.store?.put(this.db!, report.id, checked);
    } catch (e) {
      this.log.warn({ err: e, drill: report.id }, 'drill report not stored');
    }
    this.log.info({ drill: report.id, status, verdict: report.verdict, restarts: report.restarts, messages: report.messages }, 'drill ended');
    await this.audit('DRILL_FINISH', { drill: report.id, kind: report.kind, status, verdict: report.verdict }, report.target);
    return structuredClone(report);
  }

  /** A RACI record in the audit log when the node runs it; a failure to record is logged. */
  private async audit(action: string, details: Record<string, string | number>, target?: string): Promise<void> {
    if (!this.host.hasModule('audit')) return;
    try {
      await this.host.module<{ record(input: Record<string, unknown>): Promise<unknown> }>('audit').record({ action, actor: 'drills', ...(target ? { target } : {}), details });
    } catch (e) {
      this.log.warn({ err: e, action }, 'drill step not recorded in the audit log');
    }
  }

  // ---- the drill itself --------------------------------------------------------------------

  private async probe(path: string, phase: 'before' | 'during' | 'after', withinMs: number, report: DrillReport): Promise<boolean> {
    const clock = this.host.clock;
    const at = clock.now();
    let timer: unknown;
    const ok = await Promise.race([
      this.faults.probe(path).then(() => true, () => false),
      new Promise<boolean>((r) => {
        timer = clock.setTimeout(() => r(false), withinMs);
      }),
    ]);
    clock.clearTimeout(timer);
    if (report.probes.length < 1_000) report.probes.push({ phase, at, ok, ...(ok ? { latencyMs: clock.now() - at } : { error: 'no probe reply in time' }) });
    return ok;
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = this.host.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        this.host.clock.clearTimeout(t);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(req: DrillRequest, path: string, report: DrillReport, signal: AbortSignal, access: GatewayAccess | undefined): Promise<void> {
    if (req.kind === 'upstream' || req.kind === 'slow-client' || NODE_DRILL_KINDS.has(req.kind)) {
      const held = req.kind === 'upstream'
        ? await runUpstreamDrill(this.host, req, path, report, signal)
        : req.kind === 'slow-client'
          ? await runSlowClientDrill(this.host, req, path, report, signal, access)
          : await runNodeDrill(this.host, req, path, report, signal);
      report.verdict = verdictOf(report, held);
      return;
    }
    const host = this.host;
    const clock = host.clock;
    const address = host.toRef(path).address;
    const tag = `${report.id}:m`;
    const poisonId = `${report.id}:poison`;
    let failures = 0;
    const delivered = new Set<string>();
    let unwatch: (() => void) | undefined;
    const unsubscribe = host.inspect((e: InspectionEvent) => {
      if (e.type === 'actor.failed' && e.address === address) {
        failures++;
        report.detectedAt ??= clock.now();
      } else if (e.type === 'actor.restarted' && e.address === address) report.restarts++;
      else if (e.type === 'supervisor.decision' && e.child === address && e.plan === 'escalate') report.escalations++;
      else if (e.type === 'message.dead-lettered' && e.to === address) {
        report.messages.deadLettered++;
        if (e.reason === 'mailbox-full') report.detectedAt ??= clock.now();
      }
    });
    try {
      if (!(await this.probe(path, 'before', req.probeWithinMs, report))) {
        throw new TroupeError('TROUPE_ERR_DRILL_TARGET', 'the steady-state hypothesis does not hold before the fault; nothing injected');
      }
      const injected = (): Error => new TroupeError('TROUPE_ERR_DRILL_INJECTED', `fault injected by drill ${report.id}`);
      // an agent checks its messages against its schema: the default payload must be one it accepts
      const payload = req.message ?? (/^user\/agents\/[^/]+\/agent$/.test(path) ? { type: 'agent.status' } : { type: 'drill.message' });
      const send = (correlationId: string): void => {
        report.messages.sent++;
        try {
          host.tell(address, payload, { correlationId });
        } catch (e) {
          const code: ErrorCode | 'unknown' = isTroupeError(e) ? e.code : 'unknown';
          report.clientErrors[code] = (report.clientErrors[code] ?? 0) + 1;
        }
      };
      // delivered: handed to the behaviour at least once (a redelivery after a crash counts once)
      unwatch = this.faults.watchDeliveries(report.id, (id) => delivered.add(id));
      report.injectedAt = clock.now();
      let kindHeld = true;
      let disarm: (() => void) | undefined;
      switch (req.kind) {
        case 'crash': {
          disarm = this.faults.armCrash(path, req.rate ?? 1, injected);
          // the next messages meet the fault: a probe alone is a kernel message, so send real ones
          for (let i = 0; i < (req.rate ?? 1); i++) send(`${tag}:${i}`);
          break;
        }
        case 'restart-storm': {
          // more crashes than any restart intensity allows: each message crashes its receiver
          const n = req.rate ?? STORM_CRASHES;
          disarm = this.faults.armCrash(path, n, injected);
          for (let i = 0; i < n; i++) send(`${tag}:${i}`);
          break;
        }
        case 'storage': {
          disarm = this.faults.armStorage(path, () => new TroupeError('TROUPE_ERR_STORAGE_WRITE', `LMDB write failed (injected by drill ${report.id})`));
          for (let i = 0; i < (req.rate ?? 3); i++) send(`${tag}:${i}`);
          break;
        }
        case 'kill':
          if (!this.faults.kill(path, new TroupeError('TROUPE_ERR_DRILL_INJECTED', `killed by drill ${report.id}`))) {
            throw new TroupeError('TROUPE_ERR_DRILL_TARGET', `${path} is not running; nothing to kill`);
          }
          break;
        case 'poison':
          disarm = this.faults.armPoison(poisonId, injected);
          send(poisonId);
          break;
        case 'flood': {
          const mb = this.faults.mailbox(path);
          const n = req.rate ?? Math.min(2 * (mb?.capacity ?? 1_000), 100_000);
          for (let i = 0; i < n && !signal.aborted; i++) send(`${tag}:${i}`);
          break;
        }
      }
      // during: probe until it holds again (recovery) or the duration ends
      const end = report.injectedAt + req.durationMs;
      while (!signal.aborted && clock.now() < end) {
        if (req.kind === 'storage') {
          // the writes fail for the whole duration; recovery is watched once they work again
          await this.sleep(Math.max(0, end - clock.now()), signal);
          break;
        }
        if (req.kind === 'restart-storm') {
          // settled once the failure escalated (the target is gone or restarted by its parent)
          if (report.escalations > 0) {
            report.recoveredAt ??= clock.now();
            break;
          }
          await this.sleep(PROBE_GAP_MS, signal);
          continue;
        }
        const ok = await this.probe(path, 'during', Math.min(req.probeWithinMs, Math.max(1, end - clock.now())), report);
        if (ok && (req.kind === 'flood' || failures > 0 || req.kind === 'kill')) {
          report.recoveredAt ??= clock.now();
          if (req.kind !== 'poison' || report.messages.deadLettered > 0) break;
        }
        await this.sleep(PROBE_GAP_MS, signal);
      }
      disarm?.();
      if (req.kind === 'storage' && (await this.probe(path, 'during', req.probeWithinMs, report))) report.recoveredAt = clock.now();
      // after a storm the steady state is the parent's: the failure stopped there
      await this.probe(req.kind === 'restart-storm' ? parentOf(path) : path, 'after', req.probeWithinMs, report);
      const m = report.messages;
      m.delivered = delivered.size;
      // the poison message reached the behaviour and was then dead-lettered: it is not lost
      const both = req.kind === 'poison' && delivered.has(poisonId) && m.deadLettered > 0 ? 1 : 0;
      m.lost = Math.max(0, m.sent - m.delivered - m.deadLettered + both);
      if (req.kind === 'crash' || req.kind === 'kill') kindHeld = report.restarts > 0 && report.recoveredAt !== undefined;
      if (req.kind === 'poison') kindHeld = report.messages.deadLettered >= 1;
      if (req.kind === 'restart-storm') kindHeld = report.escalations > 0;
      if (req.kind === 'storage') kindHeld = failures > 0 && report.restarts > 0 && report.recoveredAt !== undefined;
      if (req.kind === 'flood') kindHeld = failures === 0 && report.messages.deadLettered === (report.clientErrors['TROUPE_ERR_ACTOR_MAILBOX_FULL'] ?? 0);
      report.verdict = verdictOf(report, kindHeld);
    } finally {
      unwatch?.();
      unsubscribe();
    }
  }
}

/** The path of an actor's parent (`user/a/b` -> `user/a`). */
function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i > 0 ? path.slice(0, i) : path;
}
