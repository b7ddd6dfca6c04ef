import type { Logger } from 'pino';
import { z } from 'zod';
import { TroupeError, describeIssues, newId, serializeError } from '../../protocol/index.js';
import type { AuditApi, AuditRecordInput } from '../audit/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { fabricActionSchema, type FabricActionInput, type RoutedAction } from './action.js';
import { FabricMetrics } from './metrics.js';
import type { FabricOptions } from './options.js';
import { Plane, planeActorSpec, type PlaneView } from './plane.js';
import { FABRIC_PRESETS, PRESET_RULES, type FabricPreset } from './presets.js';
import { ActionRouter } from './router.js';

/** `GET /api/v1/fabric/context`: the active preset and what it implies. */
export interface FabricContext {
  fabric_preset: FabricPreset;
  /** The preset's primary plane (null when none of that kind is configured). */
  primary_plane_id: string | null;
  is_direct_allowed: boolean;
  planes: string[];
}

/** The answer of an executed (or dry-run) action. */
export interface FabricActionResult extends RoutedAction {
  status: 'completed' | 'routed';
  result?: unknown;
}

/**
 * The fabric's API (`host.module<FabricApi>('fabric')`).
 *
 * @example
 * const fabric = node.module<FabricApi>('fabric');
 * await fabric.setPreset('PRESET_4_EVENT_BUS_FIRST');
 * const r = await fabric.execute({ action_type: 'publish_event', target_system: 'orders', data: { id: 1 } });
 * r.primary_plane_id; // 'event-bus-sim'
 */
export interface FabricApi {
  context(): FabricContext;
  /** Set (and persist) the active preset. TROUPE_ERR_FABRIC_NO_PLANE when a plane it requires is missing. */
  setPreset(preset: unknown): Promise<FabricContext>;
  planes(): PlaneView[];
  /** Route and execute an action (or only route it with `dry_run`); both steps are audited before this resolves. */
  execute(input: FabricActionInput, options?: { signal?: AbortSignal }): Promise<FabricActionResult>;
  /**
   * The fabric fields a task, job or A2A message gets when it names none (auto-enrichment):
   * the plane `action` would be routed to when given and routable, else the preset's primary.
   */
  enrich<T extends { primary_plane_id?: string | undefined; fabric_preset?: string | undefined; fabric_context?: Record<string, unknown> | undefined }>(fields: T, action?: unknown): T;
}

const PRESET_KEY = 'fabric/preset';
const storedPreset = z.object({ v: z.literal(1), preset: z.enum(FABRIC_PRESETS) });
const presetBody = z.object({ preset: z.enum(FABRIC_PRESETS) });

/**
 * The plane mesh: one supervised actor per configured plane, the ActionRouter over them,
 * the active preset (kept in the node's state database), and the RACI records of every
 * routing decision and execution (when the node runs the audit module).
 */
export class FabricMesh implements FabricApi {
  private readonly planesById = new Map<string, { plane: Plane; ref: ActorRef }>();
  private readonly router: ActionRouter;
  private preset: FabricPreset;
  private readonly log: Logger;
  readonly metrics: FabricMetrics;

  constructor(private readonly host: ModuleHost, options: FabricOptions) {
    this.log = host.logger.child({ module: 'fabric' });
    this.metrics = new FabricMetrics(host.id, () => this.planes());
    for (const cfg of options.planes) {
      const plane = new Plane(cfg, options.maxInFlightPerPlane, this.log);
      this.planesById.set(cfg.id, { plane, ref: host.spawnSpec(planeActorSpec(plane), 'system') });
    }
    this.router = new ActionRouter(options.planes);
    this.preset = this.loadPreset() ?? options.preset;
    const missing = this.router.missingFor(this.preset);
    if (missing.length > 0) this.log.warn({ preset: this.preset, missing }, 'the active fabric preset requires planes that are not configured');
  }

  private loadPreset(): FabricPreset | undefined {
    const raw: unknown = this.host.store?.state.get(PRESET_KEY);
    if (raw === undefined) return undefined;
    const r = storedPreset.safeParse(raw);
    if (!r.success) {
      this.log.warn('the stored fabric preset is not one; using the configured one');
      return undefined;
    }
    return r.data.preset;
  }

  context(): FabricContext {
    return {
      fabric_preset: this.preset,
      primary_plane_id: this.router.primary(this.preset)?.id ?? null,
      is_direct_allowed: PRESET_RULES[this.preset].directAllowed,
      planes: [...this.planesById.keys()],
    };
  }

  async setPreset(input: unknown): Promise<FabricContext> {
    const r = presetBody.safeParse(input);
    if (!r.success) throw new TroupeError('TROUPE_ERR_FABRIC_INVALID_REQUEST', `invalid preset: ${describeIssues(r.error)}`);
    const preset = r.data.preset;
    const missing = this.router.missingFor(preset);
    if (missing.length > 0) throw new TroupeError('TROUPE_ERR_FABRIC_NO_PLANE', `${preset} requires a plane of each kind ${missing.join(', ')}; none is configured`, { details: { missing } });
    const from = this.preset;
    if (this.host.store) await this.host.store.put(this.host.store.state, PRESET_KEY, { v: 1, preset });
    this.preset = preset;
    await this.audit({ action: 'FABRIC_PRESET_SET', actor: 'fabric', target: preset, details: { from, to: preset } });
    this.log.info({ from, to: preset }, 'fabric preset set');
    return this.context();
  }

  planes(): PlaneView[] {
    return [...this.planesById.values()].map((p) => p.plane.view());
  }

  enrich<T extends { primary_plane_id?: string | undefined; fabric_preset?: string | undefined; fabric_context?: Record<string, unknown> | undefined }>(fields: T, action?: unknown): T {
    if (fields.primary_plane_id !== undefined) return fields;
    const c = this.context();
    const plane = action === undefined ? c.primary_plane_id : (this.routeQuietly(action) ?? c.primary_plane_id);
    return {
      ...fields,
      ...(plane !== null ? { primary_plane_id: plane } : {}),
      fabric_preset: fields.fabric_preset ?? c.fabric_preset,
      fabric_context: { ...(fields.fabric_context ?? {}), Primary_Plane_ID: plane, auto_enriched: true },
    };
  }

  /** The plane an action would go to now, or undefined when it is invalid or not routable. */
  private routeQuietly(action: unknown): string | undefined {
    const p = fabricActionSchema.safeParse(action);
    if (!p.success) return undefined;
    try {
      return this.router.route(p.data, this.preset).plane.id;
    } catch {
      return undefined;
    }
  }

  async execute(input: FabricActionInput, options: { signal?: AbortSignal } = {}): Promise<FabricActionResult> {
    const p = fabricActionSchema.safeParse(input);
    if (!p.success) throw new TroupeError('TROUPE_ERR_FABRIC_INVALID_REQUEST', `invalid fabric action: ${describeIssues(p.error)}`, { details: { retryable: false } });
    const a = p.data;
    const preset = this.preset;
    const base: Omit<AuditRecordInput, 'action'> = {
      actor: a.agent_id ?? 'fabric',
      target: a.target_system,
      ...(a.agent_id !== undefined ? { agent: a.agent_id } : {}),
      ...(a.correlation_id !== undefined ? { correlationId: a.correlation_id } : {}),
      ...(a.data !== undefined ? { payload: a.data } : {}),
    };
    let choice;
    try {
      choice = this.router.route(a, preset);
    } catch (e) {
      this.metrics.routes.inc({ outcome: 'refused' });
      await this.audit({ ...base, action: 'ROUTE_ACTION', outcome: 'refused', details: { action_type: a.action_type, preset, error_code: serializeError(e).code } });
      throw e;
    }
    const routed: RoutedAction = {
      action_id: newId(),
      action_type: a.action_type,
      target_system: a.target_system,
      fabric_preset: preset,
      primary_plane_id: choice.plane.id,
      plane_kind: choice.plane.kind,
      direct: choice.direct,
    };
    this.metrics.routes.inc({ outcome: 'routed' });
    const details = { action_id: routed.action_id, action_type: a.action_type, preset, direct: choice.direct };
    await this.audit({ ...base, action: 'ROUTE_ACTION', primaryPlaneId: routed.primary_plane_id, outcome: 'ok', details });
    if (a.dry_run) return { ...routed, status: 'routed' };
    const { plane, ref } = this.planesById.get(choice.plane.id)!;
    options.signal?.throwIfAborted();
    let result: unknown;
    try {
      result = await this.host.ask(ref, {
        type: 'fabric.execute',
        request: {
          action_id: routed.action_id, action_type: a.action_type, target_system: a.target_system, primary_plane_id: routed.primary_plane_id,
          ...(a.entity_id !== undefined ? { entity_id: a.entity_id } : {}),
          ...(a.data !== undefined ? { data: a.data } : {}),
          ...(a.correlation_id !== undefined ? { correlation_id: a.correlation_id } : {}),
        },
      }, { timeoutMs: plane.maxDurationMs });
    } catch (e) {
      this.metrics.executions.inc({ plane: routed.primary_plane_id, outcome: 'error' });
      await this.audit({ ...base, action: 'FABRIC_EXECUTE', primaryPlaneId: routed.primary_plane_id, outcome: 'error', details: { ...details, error_code: serializeError(e).code } });
      throw e;
    }
    this.metrics.executions.inc({ plane: routed.primary_plane_id, outcome: 'ok' });
    await this.audit({ ...base, action: 'FABRIC_EXECUTE', primaryPlaneId: routed.primary_plane_id, outcome: 'ok', details });
    return { ...routed, status: 'completed', result };
  }

  /** Record in the audit log when the node has one; resolves once committed. */
  private async audit(input: AuditRecordInput): Promise<void> {
    if (!this.host.hasModule('audit')) {
      this.log.info({ audit: input }, 'RACI_AUDIT');
      return;
    }
    await this.host.module<AuditApi>('audit').record(input);
  }
}
