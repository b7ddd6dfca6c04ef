/** The kinds of fabric plane (seed 000 §4.1). */
export const PLANE_KINDS = ['ipaas', 'api_gateway', 'event_bus', 'data_warehouse', 'direct', 'custom'] as const;
export type PlaneKind = (typeof PLANE_KINDS)[number];

/** The enterprise presets (seed 000 §4.2). */
export const FABRIC_PRESETS = [
  'PRESET_1_FULL_ENTERPRISE',
  'PRESET_2_IPAAS_FIRST',
  'PRESET_3_API_GATEWAY_FIRST',
  'PRESET_4_EVENT_BUS_FIRST',
  'PRESET_5_DATA_WAREHOUSE_FIRST',
  'PRESET_6_SCRAPPY',
] as const;
export type FabricPreset = (typeof FABRIC_PRESETS)[number];

/**
 * Action types and the plane each belongs on by nature: multi-step work and syncs on iPaaS,
 * request/response calls on the API gateway, events on the bus, analytics on the warehouse.
 */
export const ACTION_TYPES = {
  workflow: 'ipaas',
  sync_data: 'ipaas',
  api_call: 'api_gateway',
  external_call: 'api_gateway',
  read_data: 'api_gateway',
  write_data: 'api_gateway',
  publish_event: 'event_bus',
  stream: 'event_bus',
  query_analytics: 'data_warehouse',
  load_data: 'data_warehouse',
} as const satisfies Record<string, Exclude<PlaneKind, 'direct' | 'custom'>>;
export type ActionType = keyof typeof ACTION_TYPES;
export const ACTION_TYPE_NAMES = Object.keys(ACTION_TYPES) as ActionType[];

/** What a preset means: its primary plane kind, and the planes `PRESET_1` requires. */
export interface PresetRule {
  /** The plane kind whose plane is the context's Primary_Plane_ID. */
  readonly primary: PlaneKind;
  /** Kinds that must have a plane before the preset can be set. */
  readonly requires: readonly PlaneKind[];
  /** Only PRESET_6_SCRAPPY lets an action go to its target system directly. */
  readonly directAllowed: boolean;
  /** Plane kinds tried in order for an action of a type whose natural plane is `natural`. */
  order(natural: PlaneKind): PlaneKind[];
}

const first = (primary: PlaneKind): PresetRule => ({
  primary,
  requires: [primary],
  directAllowed: false,
  order: (natural) => dedupe([primary, natural, 'custom']),
});

function dedupe(kinds: PlaneKind[]): PlaneKind[] {
  return [...new Set(kinds)];
}

/**
 * Routing per preset. FULL_ENTERPRISE sends every action to its natural plane (all four
 * core planes must exist); an *_FIRST preset sends everything to its primary plane and falls
 * back to the natural one, then a custom plane; SCRAPPY uses the natural plane when there is
 * one and otherwise goes direct. Outside SCRAPPY, direct is never chosen nor allowed.
 */
export const PRESET_RULES: Readonly<Record<FabricPreset, PresetRule>> = {
  PRESET_1_FULL_ENTERPRISE: {
    primary: 'api_gateway',
    requires: ['ipaas', 'api_gateway', 'event_bus', 'data_warehouse'],
    directAllowed: false,
    order: (natural) => dedupe([natural, 'custom']),
  },
  PRESET_2_IPAAS_FIRST: first('ipaas'),
  PRESET_3_API_GATEWAY_FIRST: first('api_gateway'),
  PRESET_4_EVENT_BUS_FIRST: first('event_bus'),
  PRESET_5_DATA_WAREHOUSE_FIRST: first('data_warehouse'),
  PRESET_6_SCRAPPY: {
    primary: 'direct',
    requires: [],
    directAllowed: true,
    order: (natural) => dedupe([natural, 'custom', 'direct']),
  },
};
