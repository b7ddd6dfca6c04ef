import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { errorCatalog } from '../protocol/index.js';
import { ROOT } from './process.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const QUICKSTART = join(ROOT, 'examples', 'quickstart.mjs');

/** The first ```js block after a heading. */
function snippetAfter(heading: string): string {
  const at = readme.indexOf(heading);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m, `a js block after ${heading}`).not.toBeNull();
  return m![1]!;
}

describe('README', () => {
  it('lists every error code of the registry', () => {
    const missing = Object.keys(errorCatalog).filter((c) => !readme.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('has the two quick-start commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
  });

  it('shows examples/quickstart.mjs as its Library API snippet, character for character', () => {
    expect(snippetAfter('## Library API')).toBe(readFileSync(QUICKSTART, 'utf8'));
  });
});

describe('examples/quickstart.mjs', () => {
  it('prints exactly its two result lines: no log lines, no stack trace', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [QUICKSTART], { cwd: ROOT, env: { ...process.env, TROUPE_LOG_LEVEL: 'info' } });
    expect(stdout).toBe('count: 2\nafter restart: 0\n');
    expect(stderr).toBe('');
  });
});
