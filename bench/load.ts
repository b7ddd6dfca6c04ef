import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadJob, LoadResult } from './loadgen.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One load run in a child process (bench/loadgen.ts); settles however the child ends. */
export function load(job: LoadJob): Promise<LoadResult> {
  const child = fork(join(here, 'loadgen.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as LoadResult));
    child.once('error', reject);
    // After a result this is a no-op; without one (a crash, or exit 0 with nothing sent) it fails the round.
    child.once('exit', (code, signal) => reject(new Error(`load generator exited (code ${code}, signal ${signal}) without a result`)));
    child.send(job);
  });
}

/** A bench helper process (e.g. bench/upstream.ts) that reports `{ port }` once listening. */
export async function forkServer(script: string, args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(join(here, script), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited (code ${code}) before listening`)));
  });
  return { port, child };
}
