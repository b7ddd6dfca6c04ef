import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The installed dev fixture's entry script (offline: from node_modules, never npx). */
function entry(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js');
}

/** `@modelcontextprotocol/server-everything` over stdio. */
export function everythingServer(name = 'everything'): { name: string; command: string; args: string[] } {
  return { name, command: process.execPath, args: [entry('@modelcontextprotocol/server-everything'), 'stdio'] };
}

/** `@modelcontextprotocol/server-memory` over stdio, its graph in `file`. */
export function memoryServer(file: string, name = 'memory'): { name: string; command: string; args: string[]; env: Record<string, string> } {
  return { name, command: process.execPath, args: [entry('@modelcontextprotocol/server-memory')], env: { MEMORY_FILE_PATH: file } };
}

/** Whether no process has this pid any more (signal 0 probes without signalling). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
