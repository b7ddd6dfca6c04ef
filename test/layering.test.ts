/**
 * The layering of ARCHITECTURE.md, checked on the imports of every source file (tests and
 * bench excluded):
 *
 *   bin (and the package entry index.ts) -> gateway -> actors -> supervisors, transport, storage -> protocol
 *   (transport may use storage for its outbox; protocol imports nothing of ours)
 *
 * - an import into another top-level folder goes through that folder's index.ts;
 * - inside actors/, a domain module (kernel, agent, gateway, modules, ...) uses another one
 *   (the kernel included) only through that module's index.ts;
 * - the gateway layer never names the node class or the agent registry class.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './process.js';

/** Top-level folders that are layers, with their rank: an import may only point to a lower rank. */
const RANK: Record<string, number> = { protocol: 0, supervisors: 1, transport: 1, storage: 1, actors: 2, gateway: 3, bin: 4, '.': 4 };
/** Same-rank imports that ARCHITECTURE.md allows (the CLI is built on the package entry). */
const SIDEWAYS = new Set(['transport->storage', 'bin->.']);

/**
 * Known violations, as `importer -> imported` (paths from the repository root): none. The
 * test fails on any entry that is no longer a violation, so the list can only shrink.
 */
export const KNOWN_VIOLATIONS: readonly string[] = [];

interface Import {
  from: string;
  to: string;
  specifier: string;
  names: string;
}

function sourceFiles(): string[] {
  const out: string[] = [join(ROOT, 'index.ts')];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const top of Object.keys(RANK)) if (top !== '.') walk(join(ROOT, top));
  return out;
}

/** Every relative import and re-export of a file (static, type-only and dynamic). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^'"]*?)\s*from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const specifier = m[3] ?? m[4]!;
    const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    out.push({ from: rel(file), to: rel(target), specifier, names: m[2] ?? '' });
  }
  return out;
}

const rel = (p: string): string => relative(ROOT, p).split(sep).join('/');
const topOf = (p: string): string => (p.includes('/') ? p.split('/')[0]! : '.');
/** The domain module of a file under actors/ (`kernel`, `agent`, ...), or undefined for actors/*.ts. */
const domainOf = (p: string): string | undefined => {
  const parts = p.split('/');
  return parts[0] === 'actors' && parts.length > 2 ? parts[1] : undefined;
};

function violation(i: Import): string | undefined {
  const a = topOf(i.from);
  const b = topOf(i.to);
  if (a === 'protocol' && b !== 'protocol') return 'protocol imports nothing of ours';
  if (a !== b) {
    const ra = RANK[a];
    const rb = RANK[b];
    if (ra === undefined || rb === undefined) return `import outside the layers (${b})`;
    if (rb > ra || (rb === ra && !SIDEWAYS.has(`${a}->${b}`))) return `${a} may not depend on ${b}`;
    if (i.to !== (b === '.' ? 'index.ts' : `${b}/index.ts`)) return `cross-folder import not through ${b}/index.ts`;
    if (a === 'gateway' && /\b(TroupeNode|AgentRegistry|createNode)\b/.test(i.names)) return 'the gateway names the node class or the agent registry class';
    return undefined;
  }
  if (a === 'actors') {
    const da = domainOf(i.from);
    const db = domainOf(i.to);
    if (db !== undefined && da !== db && i.to !== `actors/${db}/index.ts`) return `actors/${db} used other than through actors/${db}/index.ts`;
  }
  return undefined;
}

describe('layering', () => {
  const imports = sourceFiles().flatMap(importsOf);
  const found = imports.map((i) => ({ i, why: violation(i) })).filter((v) => v.why !== undefined);
  const key = (i: Import): string => `${i.from} -> ${i.to}`;

  it('finds the imports it checks (the walker works)', () => {
    expect(imports.length).toBeGreaterThan(100);
    expect(imports.some((i) => i.from === 'gateway/index.ts' && i.to === 'actors/index.ts')).toBe(true);
  });

  it('every import follows ARCHITECTURE.md, apart from the known violations', () => {
    const unexpected = found.filter((v) => !KNOWN_VIOLATIONS.includes(key(v.i))).map((v) => `${key(v.i)}: ${v.why}`);
    expect(unexpected).toEqual([]);
  });

  it('the known violations are all still violations (the list shrinks, never goes stale)', () => {
    const still = new Set(found.map((v) => key(v.i)));
    expect(KNOWN_VIOLATIONS.filter((k) => !still.has(k))).toEqual([]);
  });

  it('the rules catch what they are for', () => {
    const check = (from: string, to: string, names = ''): string | undefined => violation({ from, to, specifier: '', names });
    expect(check('supervisors/policy.ts', 'actors/index.ts')).toContain('may not depend');
    expect(check('transport/link.ts', 'actors/index.ts')).toContain('may not depend');
    expect(check('protocol/codec.ts', 'storage/index.ts')).toContain('protocol imports nothing');
    expect(check('transport/durable.ts', 'storage/index.ts')).toBeUndefined();
    expect(check('storage/outbox.ts', 'transport/index.ts')).toContain('may not depend');
    expect(check('gateway/index.ts', 'actors/troupe-node.ts')).toContain('not through actors/index.ts');
    expect(check('gateway/index.ts', 'actors/index.ts', '{ TroupeNode }')).toContain('node class');
    expect(check('actors/agent/registry.ts', 'actors/kernel/ref.ts')).toContain('actors/kernel/index.ts');
    expect(check('actors/agent/registry.ts', 'actors/gateway/index.ts')).toBeUndefined();
    expect(check('actors/gateway/gateway-actor.ts', 'actors/agent/registry.ts')).toContain('actors/agent/index.ts');
    expect(check('bin/troupe.ts', 'gateway/server.ts')).toContain('not through gateway/index.ts');
  });
});
