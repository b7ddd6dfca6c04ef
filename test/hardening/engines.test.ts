import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../process.js';

interface LockEntry { version?: string; engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean }

/** The oldest Node troupe supports, from its own `engines`: a clean install there must not warn. */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const oldest = semver.minVersion(pkg.engines.node)!.version;

describe('a clean install on the oldest supported Node', () => {
  it('pulls in no package whose engines exclude it (npm would warn EBADENGINE)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.optional) continue;
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (range !== undefined && !semver.satisfies(oldest, range)) refused.push(`${path}@${entry.version} needs node ${range}`);
    }
    expect(oldest).toBe('20.19.0');
    expect(refused).toEqual([]);
  });
});
