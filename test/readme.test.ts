import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalog } from '../protocol/index.js';
import { ROOT } from './process.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('lists every error code of the registry', () => {
    const missing = Object.keys(errorCatalog).filter((c) => !readme.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('has the two quick-start commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
  });
});
