/** Fault drills: the runner (kernel fault hooks, probes, reports), routes and `troupe drill`. */
export { drillsModule, DRILLS_MODULE, type DrillsModuleOptions } from './module.js';
export { DrillRunner, type DrillsApi, type DrillContext } from './runner.js';
export { drillCommand } from './cli.js';
export { drillMcpTools } from './mcp-tools.js';
export { DRILL_ACTOR, drillActorMessageSchema, type DrillActorMessage, type DrillLedger } from './drill-actor.js';
