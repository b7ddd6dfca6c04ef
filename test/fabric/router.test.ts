import { describe, expect, it } from 'vitest';
import { ACTION_TYPE_NAMES, ActionRouter, FABRIC_PRESETS, SIMULATION_PLANES, planeConfigSchema, type FabricPreset } from '../../index.js';

const planes = [...SIMULATION_PLANES, { id: 'custom-sim', kind: 'custom' as const }].map((p) => planeConfigSchema.parse(p));
const router = new ActionRouter(planes);

/** The plane each action type goes to under each preset, with one plane of every kind serving every system. */
const TABLE: Record<FabricPreset, Record<string, string>> = {
  PRESET_1_FULL_ENTERPRISE: {
    workflow: 'ipaas-sim', sync_data: 'ipaas-sim', api_call: 'api-gateway-sim', external_call: 'api-gateway-sim', read_data: 'api-gateway-sim',
    write_data: 'api-gateway-sim', publish_event: 'event-bus-sim', stream: 'event-bus-sim', query_analytics: 'data-warehouse-sim', load_data: 'data-warehouse-sim',
  },
  PRESET_2_IPAAS_FIRST: Object.fromEntries(ACTION_TYPE_NAMES.map((a) => [a, 'ipaas-sim'])),
  PRESET_3_API_GATEWAY_FIRST: Object.fromEntries(ACTION_TYPE_NAMES.map((a) => [a, 'api-gateway-sim'])),
  PRESET_4_EVENT_BUS_FIRST: Object.fromEntries(ACTION_TYPE_NAMES.map((a) => [a, 'event-bus-sim'])),
  PRESET_5_DATA_WAREHOUSE_FIRST: Object.fromEntries(ACTION_TYPE_NAMES.map((a) => [a, 'data-warehouse-sim'])),
  PRESET_6_SCRAPPY: {
    workflow: 'ipaas-sim', sync_data: 'ipaas-sim', api_call: 'api-gateway-sim', external_call: 'api-gateway-sim', read_data: 'api-gateway-sim',
    write_data: 'api-gateway-sim', publish_event: 'event-bus-sim', stream: 'event-bus-sim', query_analytics: 'data-warehouse-sim', load_data: 'data-warehouse-sim',
  },
};

describe('ActionRouter', () => {
  for (const preset of FABRIC_PRESETS) {
    it(`routes every action type as specified under ${preset}`, () => {
      for (const action_type of ACTION_TYPE_NAMES) {
        const c = router.route({ action_type, target_system: 'salesforce' }, preset);
        expect({ action_type, plane: c.plane.id, direct: c.direct }).toEqual({ action_type, plane: TABLE[preset][action_type], direct: false });
      }
    });
  }

  it('falls back from the primary plane to the natural one, then to a custom plane, by the systems each serves', () => {
    const r = new ActionRouter([
      { id: 'ipaas', kind: 'ipaas', systems: ['netsuite'] },
      { id: 'bus', kind: 'event_bus', systems: ['*'] },
      { id: 'onprem', kind: 'custom', systems: ['sap'] },
      { id: 'p2p', kind: 'direct', systems: ['*'] },
    ]);
    expect(r.route({ action_type: 'publish_event', target_system: 'netsuite' }, 'PRESET_2_IPAAS_FIRST').plane.id).toBe('ipaas');
    expect(r.route({ action_type: 'publish_event', target_system: 'orders' }, 'PRESET_2_IPAAS_FIRST').plane.id).toBe('bus');
    expect(r.route({ action_type: 'write_data', target_system: 'sap' }, 'PRESET_2_IPAAS_FIRST').plane.id).toBe('onprem');
    expect(() => r.route({ action_type: 'write_data', target_system: 'hubspot' }, 'PRESET_2_IPAAS_FIRST')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_FABRIC_DIRECT_REFUSED' }));
    // scrappy goes direct only when no plane serves the target
    expect(r.route({ action_type: 'write_data', target_system: 'hubspot' }, 'PRESET_6_SCRAPPY')).toMatchObject({ plane: { id: 'p2p' }, direct: true });
    expect(r.route({ action_type: 'write_data', target_system: 'sap' }, 'PRESET_6_SCRAPPY')).toMatchObject({ plane: { id: 'onprem' }, direct: false });
  });

  it('refuses direct P2P outside PRESET_6_SCRAPPY, however it is asked for', () => {
    for (const preset of FABRIC_PRESETS.filter((p) => p !== 'PRESET_6_SCRAPPY')) {
      expect(() => router.route({ action_type: 'api_call', target_system: 'crm', direct: true }, preset)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_FABRIC_DIRECT_REFUSED' }));
      expect(() => router.route({ action_type: 'api_call', target_system: 'crm', plane_id: 'direct-sim' }, preset)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_FABRIC_DIRECT_REFUSED' }));
    }
    expect(router.route({ action_type: 'api_call', target_system: 'crm', direct: true }, 'PRESET_6_SCRAPPY')).toMatchObject({ plane: { id: 'direct-sim' }, direct: true });
    expect(router.route({ action_type: 'api_call', target_system: 'crm', plane_id: 'direct-sim' }, 'PRESET_6_SCRAPPY')).toMatchObject({ direct: true });
  });

  it('names a missing plane and a plane that cannot carry the action with coded errors', () => {
    expect(() => router.route({ action_type: 'api_call', target_system: 'crm', plane_id: 'nope' }, 'PRESET_1_FULL_ENTERPRISE')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_FABRIC_PLANE_NOT_FOUND' }));
    const narrow = new ActionRouter([{ id: 'gw', kind: 'api_gateway', systems: ['crm'] }]);
    expect(() => narrow.route({ action_type: 'api_call', target_system: 'erp' }, 'PRESET_3_API_GATEWAY_FIRST')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_FABRIC_NO_PLANE' }));
    expect(() => narrow.route({ action_type: 'api_call', target_system: 'erp', plane_id: 'gw' }, 'PRESET_3_API_GATEWAY_FIRST')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_FABRIC_NO_PLANE' }));
    expect(narrow.missingFor('PRESET_1_FULL_ENTERPRISE')).toEqual(['ipaas', 'event_bus', 'data_warehouse']);
    expect(narrow.primary('PRESET_3_API_GATEWAY_FIRST')?.id).toBe('gw');
    expect(narrow.primary('PRESET_4_EVENT_BUS_FIRST')).toBeUndefined();
  });
});
