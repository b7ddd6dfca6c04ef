import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toTroupeError } from '../../gateway/errors.js';
import { TroupeError, deserializeError, errorCatalog, serializeError } from '../../protocol/index.js';
import { ROOT } from '../process.js';
import { cleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

const SOURCE_DIRS = ['actors', 'bin', 'gateway', 'protocol', 'storage', 'supervisors', 'transport'];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Source text with comments dropped, so a code named only in a comment does not count. */
function code(file: string): string {
  return readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

describe('the error registry', () => {
  it('every code is raised somewhere outside the registry (as a string literal in library code)', () => {
    const files = [...SOURCE_DIRS.flatMap((d) => sources(join(ROOT, d))), join(ROOT, 'index.ts')];
    // the registry file counts only past the catalog (deserializeError raises there)
    const afterCatalog = (f: string): string => (relative(ROOT, f) === join('protocol', 'errors.ts') ? code(f).split('export type ErrorCode')[1]! : code(f));
    const text = files.map(afterCatalog).join('\n');
    const unraised = Object.keys(errorCatalog).filter((c) => !text.includes(`'${c}'`));
    expect(unraised).toEqual([]);
  });

  it('an uncoded throwable at the gateway is GATEWAY_INTERNAL (500), not an actor failure', () => {
    const e = toTroupeError(new Error('boom'));
    expect(e).toMatchObject({ code: 'TROUPE_ERR_GATEWAY_INTERNAL', status: 500 });
  });

  it('an error code this node does not know comes back as PROTOCOL_UNKNOWN_CODE naming it; a known one as itself', () => {
    expect(deserializeError({ code: 'TROUPE_ERR_FUTURE_THING', message: 'x' })).toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_UNKNOWN_CODE', details: { code: 'TROUPE_ERR_FUTURE_THING' } });
    expect(deserializeError({ code: 'constructor', message: 'x' }).code).toBe('TROUPE_ERR_PROTOCOL_UNKNOWN_CODE');
    expect(deserializeError({ code: 'TROUPE_ERR_ACTOR_STOPPED', message: 'gone' })).toMatchObject({ code: 'TROUPE_ERR_ACTOR_STOPPED', status: 410 });
    expect(serializeError(new Error('boom'))).toEqual({ code: 'TROUPE_ERR_ACTOR_FAILED', message: 'boom' });
    expect(serializeError(new TroupeError('TROUPE_ERR_AGENT_BUSY', 'busy')).code).toBe('TROUPE_ERR_AGENT_BUSY');
  });

  it('a second agent of one name is AGENT_EXISTS (409)', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'twice' });
    let err: unknown;
    try {
      node.spawnAgent({ name: 'twice' });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'TROUPE_ERR_AGENT_EXISTS', status: 409 });
  });

  it('starting the modules or the cluster twice is NODE_ALREADY_STARTED, not a config error', async () => {
    const node = await testNode();
    await expect(node.startModules([])).rejects.toMatchObject({ code: 'TROUPE_ERR_NODE_ALREADY_STARTED' });
    await node.startCluster({ port: 0 });
    await expect(node.startCluster({ port: 0 })).rejects.toMatchObject({ code: 'TROUPE_ERR_NODE_ALREADY_STARTED' });
  });

  it('a run id already in flight at the gateway actor is AGENT_RUN_DUPLICATE (409)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const node = await testNode({
      modelProvider: {
        name: 'slow', offline: true, defaultModel: 'slow',
        complete: async () => {
          await gate;
          return { content: 'ok', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, model: 'slow' } as never;
        },
      },
    });
    node.spawnAgent({ name: 'slow' });
    const first = node.agents.run('slow', { input: [{ role: 'user', content: 'x' }] }, { runId: 'run_same' });
    await expect(node.agents.run('slow', { input: [{ role: 'user', content: 'y' }] }, { runId: 'run_same' })).rejects.toMatchObject({ code: 'TROUPE_ERR_AGENT_RUN_DUPLICATE', status: 409 });
    release();
    await first.catch(() => undefined);
  });

  it('an ask on a closing node is NODE_CLOSED', async () => {
    const node = await testNode();
    const closing = node.close();
    expect(() => node.spawn(() => undefined, { name: 'late' })).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_NODE_CLOSED' }));
    await closing;
  });
});
