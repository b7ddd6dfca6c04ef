/**
 * The fabric plane mesh (seed 000 §4): plane actors with HTTP and simulation connectors, the
 * six presets and the ActionRouter that refuses direct P2P outside PRESET_6_SCRAPPY.
 */
export { fabricModule, FABRIC_MODULE } from './module.js';
export { FabricMesh, type FabricApi, type FabricContext, type FabricActionResult } from './fabric.js';
export { ActionRouter, type RoutablePlane, type RouteChoice } from './router.js';
export {
  FABRIC_PRESETS, PLANE_KINDS, ACTION_TYPES, ACTION_TYPE_NAMES, PRESET_RULES,
  type FabricPreset, type PlaneKind, type ActionType, type PresetRule,
} from './presets.js';
export {
  fabricOptionsSchema, planeConfigSchema, connectorSchema, SIMULATION_PLANES,
  type FabricOptionsInput, type FabricOptions, type PlaneConfig, type PlaneConfigInput, type ConnectorConfig,
} from './options.js';
export { fabricActionSchema, type FabricActionInput, type FabricAction, type RoutedAction } from './action.js';
export type { Connector, ConnectorRequest, ConnectorState } from './connector.js';
export { HttpConnector } from './connectors/http.js';
export { SimulationConnector } from './connectors/simulation.js';
export { Plane, type PlaneView } from './plane.js';
