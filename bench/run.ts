/**
 * `npm run bench`: every figure next to its raw-library baseline measured in the same run.
 * Each section runs in a fresh process (bench/section.ts), the troupe figure and its
 * baseline in the same one. Progress goes to stderr; the last stdout line is one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const section = join(dirname(fileURLToPath(import.meta.url)), 'section.js');
const results: Record<string, unknown> = { node: process.version, cpus: cpus().length };
for (const name of [
  'kernel',
  'storage',
  'cluster',
  'gateway',
  'agent-chat',
  'agents',
  'mcp',
  'audit',
  'aoa',
  'drills',
  'a2a',
  'orchestrator',
]) {
  const out = execFileSync(process.execPath, ['--expose-gc', section, name], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const last = out.trim().split('\n').at(-1) ?? '';
  Object.assign(results, JSON.parse(last) as Record<string, unknown>);
}
process.stdout.write(`${JSON.stringify(results)}\n`);
