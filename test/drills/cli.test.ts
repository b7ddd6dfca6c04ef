import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { ROOT, runTroupe, startTroupe, type TroupeProcess } from '../process.js';

const procs: TroupeProcess[] = [];
const cleanups: Array<() => void> = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  cleanups.forEach((c) => c());
});

describe('troupe drill against a running troupe start node (the README example)', () => {
  it('runs crash and upstream drills on the demo agents with an API key, exits 0 on a held hypothesis, and kill-switches from HTTP', async () => {
    const t = tempDir('troupe-drill-cli-');
    cleanups.push(t.cleanup);
    const key = 'drill-cli-key-1234';
    const env = { TROUPE_API_KEYS: key, OPENAI_BASE_URL: '', OPENAI_API_KEY: '' };
    const node = await startTroupe(['--config', join(ROOT, 'troupe.config.json'), '--http-port', '0', '--peer-port', '0', '--data', t.dir, '--allow-drills'], env, 45_000);
    procs.push(node);
    const url = node.ready.http;
    const drill = (args: string[], withKey = true) => runTroupe(['drill', ...args, '--url', url], withKey ? { TROUPE_API_KEY: key } : {});

    const crash = await drill(['crash', '--target', 'agent:assistant', '--duration', '3000']);
    expect(crash.stderr).toBe('');
    expect(crash.code).toBe(0);
    expect(JSON.parse(crash.stdout)).toMatchObject({ kind: 'crash', target: 'user/agents/assistant/agent', status: 'finished', verdict: 'held', restarts: 1 });

    const upstream = await drill(['upstream', '--target', 'agent:echo', '--fault', 'rate-limit', '--retry-after', '100', '--duration', '250', '--rate', '2']);
    expect(upstream.code).toBe(0);
    expect(JSON.parse(upstream.stdout)).toMatchObject({ kind: 'upstream', verdict: 'held', restarts: 0, messages: { sent: 2, delivered: 2, lost: 0 } });

    const noKey = await drill(['crash', '--target', 'agent:assistant'], false);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('TROUPE_ERR_GATEWAY_UNAUTHORIZED');

    const bad = await drill(['upstream', '--target', 'agent:echo', '--fault', 'meteor']);
    expect(bad.code).toBe(2);

    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const engaged = await fetch(`${url}/api/v1/killswitch`, { method: 'POST', headers, body: JSON.stringify({ scope: 'node', reason: 'cli test' }) });
    expect(engaged.status).toBe(200);
    const run = await fetch(`${url}/api/v1/agents/echo/run`, { method: 'POST', headers, body: JSON.stringify({ input: 'hi' }) });
    expect(run.status).toBe(503);
    expect(((await run.json()) as any).error.code).toBe('TROUPE_ERR_KILLSWITCH_ENGAGED');
  }, 120_000);
});
