/**
 * One bench section in a process of its own (`node dist/bench/section.js <name>`), so no
 * section runs on the heap another left behind; its result is the last stdout line.
 */
import { benchCluster } from './cluster.js';
import { benchGateway } from './gateway.js';
import { benchKernel } from './kernel.js';
import { benchStorage } from './storage.js';
import { benchOrchestrator } from './orchestrator.js';

export const sections: Record<string, () => Promise<Record<string, number>>> = {
  kernel: benchKernel,
  storage: benchStorage,
  cluster: benchCluster,
  gateway: benchGateway,
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
