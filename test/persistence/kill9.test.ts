import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { ROOT } from '../process.js';

const WRITER = join(ROOT, 'test', 'fixtures', 'persist-writer.mjs');
const ACTORS = 4;

interface Run {
  recovered: Map<string, { count: number; contiguous: boolean }>;
  acked: Map<string, number>;
}

/** Start the writer, let it write for `ms`, SIGKILL it, and return what it reported. */
function runAndKill(dataDir: string, ms: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [WRITER, dataDir, String(ACTORS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { recovered: new Map(), acked: new Map() };
    let buf = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [kind, name, a, b] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        if (kind === 'recovered') run.recovered.set(name!, { count: Number(a), contiguous: b === 'true' });
        else if (kind === 'ack') run.acked.set(name!, Math.max(run.acked.get(name!) ?? 0, Number(a)));
        else if (kind === 'writing') killTimer = setTimeout(() => proc.kill('SIGKILL'), ms);
      }
    });
    proc.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (${code}): ${err}`));
      else resolve(run);
    });
  });
}

const t = tempDir('troupe-kill9-');
afterAll(() => t.cleanup());

describe('kill -9 while persisting', () => {
  it('every acknowledged event survives, exactly once, in order, no gaps (24 kills)', async () => {
    const ackedSoFar = new Map<string, number>();
    let totalAcked = 0;
    for (let round = 0; round < 24; round++) {
      // random moments: from almost at once to a few hundred ms into the writing
      const ms = Math.floor(Math.random() * 250);
      const run = await runAndKill(t.dir, ms);
      expect(run.recovered.size).toBe(ACTORS);
      for (const [name, rec] of run.recovered) {
        // the journal folds to 1..count: no duplicate, no gap, in order
        expect(rec.contiguous, `${name} contiguous after round ${round}`).toBe(true);
        // every write acknowledged before an earlier kill is there
        expect(rec.count, `${name} after round ${round}`).toBeGreaterThanOrEqual(ackedSoFar.get(name) ?? 0);
      }
      for (const [name, v] of run.acked) {
        totalAcked += v - Math.max(ackedSoFar.get(name) ?? 0, run.recovered.get(name)?.count ?? 0);
        ackedSoFar.set(name, Math.max(ackedSoFar.get(name) ?? 0, v));
      }
    }
    // a last start checks the last kill too
    const last = await runAndKill(t.dir, 0);
    for (const [name, rec] of last.recovered) {
      expect(rec.contiguous).toBe(true);
      expect(rec.count).toBeGreaterThanOrEqual(ackedSoFar.get(name) ?? 0);
    }
    expect(totalAcked).toBeGreaterThan(1_000); // it really wrote at speed between kills
  }, 120_000);
});
