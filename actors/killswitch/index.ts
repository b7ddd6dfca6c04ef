/** Kill switches (seed 003 governance): cancel covered agents' runs and refuse new ones until released; persisted. */
export { killSwitchModule, KILLSWITCH_MODULE } from './module.js';
export { Switchboard, KILLSWITCH_ACTOR, type KillSwitchApi, type KillSwitchMessage } from './switchboard.js';
export { KILLSWITCH_SCOPES, killSwitchRequestSchema, killSwitchRecordSchema, covers, type KillSwitchRecord, type KillSwitchRequest, type KillSwitchScope } from './record.js';
export { killSwitchMcpTools } from './mcp-tools.js';
