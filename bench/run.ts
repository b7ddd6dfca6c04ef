/**
 * `npm run bench`: every figure next to its raw-library baseline measured in the same run.
 * Progress goes to stderr; the last stdout line is one JSON object.
 */
import { benchKernel } from './kernel.js';
import { benchStorage } from './storage.js';
import { benchCluster } from './cluster.js';
import { benchGateway } from './gateway.js';

const results: Record<string, unknown> = { node: process.version, cpus: (await import('node:os')).cpus().length };
Object.assign(results, await benchKernel());
Object.assign(results, await benchStorage());
Object.assign(results, await benchCluster());
Object.assign(results, await benchGateway());
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
