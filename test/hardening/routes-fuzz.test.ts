import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';

/**
 * Every route the README documents, fed arbitrary JSON, non-JSON bytes and arbitrary path
 * parameters: no answer is a 500, every error answer is a coded envelope, and the node is
 * still healthy afterwards. The route list comes from the README's "HTTP routes" table, so a
 * documented route is fuzzed as soon as it is documented.
 */
function documentedRoutes(): Array<{ method: string; path: string }> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## HTTP routes'), readme.indexOf('### API keys'));
  const out: Array<{ method: string; path: string }> = [];
  for (const line of table.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cell = line.slice(1, line.indexOf(' |', 2));
    let last = '';
    for (const m of cell.matchAll(/`([A-Z|\\]+) ([^`]+)`|`(\/[a-z]+)`/g)) {
      if (m[3] !== undefined) {
        // "`POST /x/:id/pause`, `/resume`": the sibling of the previous route
        out.push({ method: out.at(-1)!.method, path: last.replace(/\/[a-z]+$/, m[3]) });
        continue;
      }
      last = m[2]!;
      for (const method of m[1]!.split(/\\?\|/)) out.push({ method, path: m[2]! });
    }
  }
  return out;
}

const routes = documentedRoutes();
/** The A2A REST routes (`/a2a/:agent/v1/...`). */
const A2A_REST = /^\/a2a\/[^/]+\/v1\//;
let node: RunningNode;
let cleanup: () => void;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  node = await startNode({ id: 'fuzz', dataDir: t.dir, logger: silent, allowDrills: true, http: { port: 0, rateLimitPerMinute: 1_000_000 }, model: { provider: 'offline' } });
  node.spawnAgent({ name: 'echo' });
});
afterAll(async () => {
  await node.close();
  cleanup();
});

const segment = fc.oneof(fc.constantFrom('echo', 'x', '0', '%2e%2e', '..', 'a'.repeat(300), '%00', '%F0%9F%98%80'), fc.stringMatching(/^[A-Za-z0-9._~-]{1,40}$/));
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.record({ input: fc.jsonValue({ maxDepth: 3 }), messages: fc.jsonValue({ maxDepth: 3 }), model: fc.string(), task_type: fc.string(), schedule: fc.jsonValue({ maxDepth: 3 }), kind: fc.constantFrom('crash', 'kill', 'flood', 'poison', 'x'), target: fc.string() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{"a":', '[]', 'null', '"', '{"__proto__":{"x":1}}', `${'['.repeat(100)}${']'.repeat(100)}`),
);

describe('every documented route, fuzzed', () => {
  it('the README documents routes to fuzz', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(routes).toContainEqual({ method: 'POST', path: '/api/v1/aoa/jobs/:id/resume' });
  });

  it('never answers 500, always answers errors in a coded envelope, and stays healthy', async () => {
    const seen: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, fc.array(segment, { minLength: 2, maxLength: 2 }), async (route, text, segs) => {
        let i = 0;
        const path = route.path.replace(/:[a-z]+/g, () => encodeURI(segs[i++ % segs.length]!).replace(/%25/g, '%'));
        const withBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
        const res = await fetch(`${node.http!.url}${path}`, {
          method: route.method,
          headers: withBody ? { 'content-type': 'application/json' } : {},
          ...(withBody ? { body: text } : {}),
        });
        const raw = await res.text();
        seen.push(`${route.method} ${path} ${res.status}`);
        expect(res.status, `${route.method} ${path} ${raw.slice(0, 300)}`).not.toBe(500);
        if (res.status >= 400) {
          const parsed = JSON.parse(raw) as { error?: { code?: unknown; message?: unknown }; code?: unknown; message?: unknown };
          if (A2A_REST.test(path) && parsed.error === undefined) {
            // without A2A-Version these are A2A 0.3 REST requests: its error body is a bare
            // { code, message, data? } with the (negative) JSON-RPC code
            expect(Number.isInteger(parsed.code) && (parsed.code as number) < 0, `${route.method} ${path} ${raw.slice(0, 300)}`).toBe(true);
            expect(typeof parsed.message, `${route.method} ${path} ${raw.slice(0, 300)}`).toBe('string');
          } else {
            expect(typeof parsed.error?.message, `${route.method} ${path} ${raw.slice(0, 300)}`).toBe('string');
            expect(parsed.error?.code ?? null, `${route.method} ${path} ${raw.slice(0, 300)}`).not.toBeNull();
          }
          expect(raw).not.toContain(process.cwd());
        }
      }),
      { numRuns: 400 },
    );
    expect(seen.length).toBe(400);
    expect((await fetch(`${node.http!.url}/health`)).status).toBe(200);
    // (the fuzz may have deleted 'echo': that is a valid request) a new agent still runs
    node.spawnAgent({ name: 'after' });
    const run = await fetch(`${node.http!.url}/api/v1/agents/after/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'still here' }) });
    expect(run.status).toBe(200);
  }, 120_000);
});
