import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../process.js';

/** Every emitted file under dist with its modification time. */
function emitted(): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|d\.ts)$/.test(e.name)) out.set(relative(ROOT, p), statSync(p).mtimeMs);
    }
  };
  walk(join(ROOT, 'dist'));
  return out;
}

describe('the build npm start, npm test and npm run bench run first', () => {
  it('rewrites nothing when nothing changed (incremental, build info kept inside dist so a clean clone builds in full)', () => {
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions['incremental']).toBe(true);
    // deleting dist (or a clean clone) must also delete the build info, or tsc would emit nothing
    expect(String(tsconfig.compilerOptions['tsBuildInfoFile'])).toMatch(/^dist\//);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['start', 'test', 'bench']) expect(pkg.scripts[s]).toMatch(/^npm run build --silent && /);

    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
    const before = emitted();
    expect(before.size).toBeGreaterThan(50);
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
    const after = emitted();
    const rewritten = [...after].filter(([f, t]) => before.get(f) !== t).map(([f]) => f);
    expect(rewritten).toEqual([]);
  });
});
