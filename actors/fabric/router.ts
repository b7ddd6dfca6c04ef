import { TroupeError } from '../../protocol/index.js';
import type { FabricAction } from './action.js';
import type { PlaneConfig } from './options.js';
import { ACTION_TYPES, PRESET_RULES, type ActionType, type FabricPreset, type PlaneKind } from './presets.js';

/** The part of a plane the router looks at. */
export type RoutablePlane = Pick<PlaneConfig, 'id' | 'kind' | 'systems'>;

/** The router's choice for one action. */
export interface RouteChoice {
  plane: RoutablePlane;
  direct: boolean;
}

const serves = (p: RoutablePlane, system: string): boolean => p.systems.includes('*') || p.systems.includes(system);

/**
 * The ActionRouter (seed 000 §4.3): picks the plane for an action from its type, its target
 * system and the active preset, in the preset's order of plane kinds (the first plane of a
 * kind that serves the system wins, in configuration order). Direct P2P (asking for it, a
 * `direct` plane named, or no plane left but a direct one) is refused with
 * TROUPE_ERR_FABRIC_DIRECT_REFUSED outside PRESET_6_SCRAPPY; no plane at all is
 * TROUPE_ERR_FABRIC_NO_PLANE; an unknown `plane_id` TROUPE_ERR_FABRIC_PLANE_NOT_FOUND. Each
 * carries `details.retryable: false` (a FABRIC_ACTION task is not retried for them).
 *
 * @example
 * new ActionRouter(planes).route({ action_type: 'publish_event', target_system: 'kafka' }, 'PRESET_4_EVENT_BUS_FIRST').plane.id
 */
export class ActionRouter {
  constructor(private readonly planes: readonly RoutablePlane[]) {}

  route(action: Pick<FabricAction, 'action_type' | 'target_system'> & { plane_id?: string | undefined; direct?: boolean | undefined }, preset: FabricPreset): RouteChoice {
    const rule = PRESET_RULES[preset];
    const refuseDirect = (why: string): never => {
      throw new TroupeError('TROUPE_ERR_FABRIC_DIRECT_REFUSED', `${why}: direct P2P to a target system is allowed only under PRESET_6_SCRAPPY (active: ${preset})`, { details: { preset, target_system: action.target_system, retryable: false } });
    };
    if (action.plane_id !== undefined) {
      const p = this.planes.find((x) => x.id === action.plane_id);
      if (!p) throw new TroupeError('TROUPE_ERR_FABRIC_PLANE_NOT_FOUND', `no fabric plane ${JSON.stringify(action.plane_id.slice(0, 64))}`, { details: { retryable: false } });
      if (p.kind === 'direct' && !rule.directAllowed) refuseDirect(`plane ${p.id} is a direct plane`);
      if (!serves(p, action.target_system)) throw new TroupeError('TROUPE_ERR_FABRIC_NO_PLANE', `plane ${p.id} does not carry actions to ${action.target_system}`, { details: { retryable: false } });
      return { plane: p, direct: p.kind === 'direct' };
    }
    if (action.direct) {
      if (!rule.directAllowed) refuseDirect('the action asked for a direct call');
      const d = this.firstOf('direct', action.target_system);
      if (!d) throw new TroupeError('TROUPE_ERR_FABRIC_NO_PLANE', `no direct plane serves ${action.target_system}`, { details: { retryable: false } });
      return { plane: d, direct: true };
    }
    const natural: PlaneKind = ACTION_TYPES[action.action_type as ActionType] ?? 'custom';
    for (const kind of rule.order(natural)) {
      const p = this.firstOf(kind, action.target_system);
      if (p) return { plane: p, direct: kind === 'direct' };
    }
    if (!rule.directAllowed && this.firstOf('direct', action.target_system)) {
      refuseDirect(`no ${rule.order(natural).join(', ')} plane serves ${action.target_system}, only a direct one`);
    }
    throw new TroupeError('TROUPE_ERR_FABRIC_NO_PLANE', `no ${rule.order(natural).join(' or ')} plane serves ${action.target_system} under ${preset}`, { details: { preset, action_type: action.action_type, target_system: action.target_system, retryable: false } });
  }

  /** The plane that is the preset's Primary_Plane_ID (its primary kind's first plane). */
  primary(preset: FabricPreset): RoutablePlane | undefined {
    return this.planes.find((p) => p.kind === PRESET_RULES[preset].primary);
  }

  /** Kinds the preset requires that have no plane. */
  missingFor(preset: FabricPreset): PlaneKind[] {
    return PRESET_RULES[preset].requires.filter((k) => !this.planes.some((p) => p.kind === k));
  }

  private firstOf(kind: PlaneKind, system: string): RoutablePlane | undefined {
    return this.planes.find((p) => p.kind === kind && serves(p, system));
  }
}
