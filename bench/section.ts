/**
 * One bench section in a process of its own (`node dist/bench/section.js <name>`), so no
 * section runs on the heap another left behind; its result is the last stdout line.
 */
import { benchAgentChat } from './agent-chat.js';
import { benchAgents } from './agents.js';
import { benchAoa } from './aoa.js';
import { benchA2A } from './a2a.js';
import { benchCluster } from './cluster.js';
import { benchGateway } from './gateway.js';
import { benchKernel } from './kernel.js';
import { benchStorage } from './storage.js';
import { benchMcp } from './mcp.js';
import { benchAudit } from './audit.js';
import { benchDrills } from './drills.js';
import { benchOrchestrator } from './orchestrator.js';

export const sections: Record<string, () => Promise<Record<string, number>>> = {
  kernel: benchKernel,
  storage: benchStorage,
  cluster: benchCluster,
  gateway: benchGateway,
  'agent-chat': benchAgentChat,
  agents: benchAgents,
  mcp: benchMcp,
  audit: benchAudit,
  aoa: benchAoa,
  drills: benchDrills,
  a2a: benchA2A,
  orchestrator: benchOrchestrator,
};

const name = process.argv[2];
const section = name === undefined ? undefined : sections[name];
if (section === undefined) {
  process.stderr.write(`usage: section.js <${Object.keys(sections).join('|')}>\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(await section())}\n`);
process.exit(0);
