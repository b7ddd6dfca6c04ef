/** Fault drills: the runner (kernel fault hooks, probes, reports), routes and `troupe drill`. */
export { drillsModule, DRILLS_MODULE, type DrillsModuleOptions } from './module.js';
export { DrillRunner, type DrillsApi } from './runner.js';
export { drillCommand } from './cli.js';
