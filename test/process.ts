import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'dist', 'bin', 'troupe.js');

export interface ReadyLine {
  node: string;
  http: string;
  peer?: string;
}

export interface TroupeProcess {
  proc: ChildProcess;
  ready: ReadyLine;
  /** Every stdout line so far (pino JSON). */
  lines: string[];
  stderr: () => string;
  /** SIGTERM (or another signal) and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * How long a child process may take to print its ready line: a deadline for something that
 * must happen, kept generous because two suites on two busy cores can slow a start tenfold.
 */
export const READY_TIMEOUT_MS = 60_000;

/** A test that starts child processes one after another waits for several ready lines. */
export const PROCESS_TEST_TIMEOUT_MS = 180_000;

/**
 * Run `troupe start ...` as a real child process and wait for its ready line.
 * Uses the built dist (npm test builds first).
 */
export function startTroupe(args: string[], env: Record<string, string> = {}, timeoutMs = READY_TIMEOUT_MS): Promise<TroupeProcess> {
  return startReady([BIN, 'start', ...args], env, timeoutMs);
}

/** Run a fixture script (test/fixtures/*.mjs) that prints the same ready line. */
export function startFixture(script: string, args: string[], env: Record<string, string> = {}, timeoutMs = READY_TIMEOUT_MS): Promise<TroupeProcess> {
  return startReady([join(ROOT, 'test', 'fixtures', script), ...args], env, timeoutMs);
}

function startReady(argv: string[], env: Record<string, string>, timeoutMs: number): Promise<TroupeProcess> {
  const proc = spawn(process.execPath, argv, {
    env: { ...process.env, TROUPE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  let buf = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`troupe did not become ready in ${timeoutMs}ms; stderr: ${err}; stdout: ${lines.join('\n')}`));
    }, timeoutMs);
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.includes('"msg":"troupe ready"')) {
          clearTimeout(timer);
          const ready = JSON.parse(line) as ReadyLine;
          resolve({
            proc, ready, lines, exited,
            stderr: () => err,
            stop: async (signal = 'SIGTERM') => {
              proc.kill(signal);
              return exited;
            },
            kill: async () => {
              proc.kill('SIGKILL');
              await exited;
            },
          });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`troupe exited with ${code} before ready; stderr: ${err}`));
    });
  });
}

/** Run `troupe` with arguments to completion. */
export function runTroupe(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
