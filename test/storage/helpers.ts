import { tempDir as baseTempDir } from '../helpers.js';
import { isTroupeError, type TroupeError } from '../../protocol/index.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { open, type RootDatabase } from 'lmdb';
import { ENV_FILE, NodeStore, type NodeStoreOptions, type StoreLogger } from '../../storage/index.js';

// One temp-dir helper and one manual clock for the whole suite.
export { ManualClock } from '../../protocol/index.js';

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'troupe-storage-'): { dir: string; cleanup: () => void } {
  return baseTempDir(prefix);
}

/** UTF-8 bytes of `s`. */
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The string `b` holds. */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Stored entries as `[id, text]` pairs, for readable assertions. */
export const view = (entries: Array<{ id: string; bytes: Uint8Array }>): Array<[string, string]> => entries.map((e) => [e.id, text(e.bytes)]);

/** The coded error a promise (or function) rejects with; fails the test when it resolves. */
export async function rejection(p: Promise<unknown> | (() => unknown)): Promise<TroupeError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isTroupeError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** A logger that remembers every entry. */
export class RecordingLogger implements StoreLogger {
  readonly entries: Array<{ level: string; obj: object; msg?: string }> = [];
  debug(obj: object, msg?: string): void {
    this.entries.push({ level: 'debug', obj, msg });
  }
  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', obj, msg });
  }
  at(level: string): Array<{ obj: object; msg?: string }> {
    return this.entries.filter((e) => e.level === level);
  }
}

/**
 * A store in a fresh temp dir, reopenable on the same dir (a "restart"), removed on dispose.
 */
export class StoreFixture {
  readonly dir: string;
  private readonly cleanupDir: () => void;
  store!: NodeStore;

  private constructor(private readonly options: Omit<NodeStoreOptions, 'dir'>) {
    const t = tempDir();
    this.dir = t.dir;
    this.cleanupDir = t.cleanup;
  }

  static async create(options: Omit<NodeStoreOptions, 'dir'> = {}): Promise<StoreFixture> {
    const f = new StoreFixture(options);
    f.store = await NodeStore.open({ ...options, dir: f.dir });
    return f;
  }

  async reopen(): Promise<NodeStore> {
    await this.store.close();
    this.store = await NodeStore.open({ ...this.options, dir: this.dir });
    return this.store;
  }

  /** Close the store and run `fn` on a raw lmdb-js handle of the same environment. */
  async withRawEnv(fn: (root: RootDatabase) => Promise<void> | void): Promise<void> {
    await this.store.close();
    const root = open({ path: join(this.dir, ENV_FILE), maxDbs: 64 });
    try {
      await fn(root);
    } finally {
      await root.close();
    }
  }

  async dispose(): Promise<void> {
    await this.store.close();
    this.cleanupDir();
  }
}

/** URL of the built storage entry point, for child processes (`npm test` builds first). */
export function distStorageUrl(): string {
  const path = fileURLToPath(new URL('../../dist/storage/index.js', import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npx tsc -p .\` (npm test does) before the storage tests`);
  return pathToFileURL(path).href;
}

/** A child `node` running an ES module script given as a string; stdout split into lines. */
export class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private readonly waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(script: string, args: string[]) {
    this.proc = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first stdout line (past or future) that passes `test`. */
  waitFor(test: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ test, resolve });
      void this.exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) first; stderr: ${this.stderr}`)));
    });
  }

  /** SIGKILL and wait until the process is reaped (a zombie would still answer kill(pid, 0)). */
  async kill9(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}
