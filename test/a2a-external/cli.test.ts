import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, startTroupe, type TroupeProcess } from '../process.js';

const procs: TroupeProcess[] = [];
const dirs: Array<() => void> = [];

afterAll(async () => {
  for (const p of procs.reverse()) await p.kill();
  for (const d of dirs) d();
});

describe('troupe start with external agents and PII policies in its config file', () => {
  it('serves a config proxy agent through /v1/chat/completions, with the config PII policy on what leaves', async () => {
    const fixture = await startFixture('a2a-external-server.mjs', ['0']);
    procs.push(fixture);
    const { dir, cleanup } = tempDir('troupe-ext-cli-');
    dirs.push(cleanup);
    const config = join(dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({
      externalAgents: { allowLoopback: true },
      pii: { default: 'WARN', agents: { far: { action: 'REDACT', kinds: ['card'] } } },
      agents: [{ name: 'far', a2a: { url: `${fixture.ready.http}/.well-known/agent-card.json`, headers: { 'x-api-key': 'from-config' } } }],
    }));
    const node = await startTroupe(['--config', config, '--http-port', '0', '--peer-port', '0', '--data', join(dir, 'data'), '--node', 'ext-cli']);
    procs.push(node);
    const client = new OpenAI({ baseURL: `${node.ready.http}/v1`, apiKey: 'unused', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'far', messages: [{ role: 'user', content: 'pay with 4111-1111-1111-1111 please' }] });
    expect(r.choices[0]!.message.content).toBe('echo#1: pay with [REDACTED:card] please');
    // the decision is a log line of the node's process, without the number
    const decision = node.lines.find((l) => l.includes('"decision":"REDACT"'));
    expect(decision).toBeDefined();
    expect(decision).not.toContain('4111');
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses a malformed externalAgents option with TROUPE_ERR_CONFIG_INVALID', async () => {
    const { dir, cleanup } = tempDir('troupe-ext-cli-');
    dirs.push(cleanup);
    const config = join(dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({ externalAgents: { allowLoopback: 'yes' } }));
    await expect(startTroupe(['--config', config, '--http-port', '0', '--peer-port', '0', '--data', join(dir, 'data')], {}, 30_000)).rejects.toThrow(/TROUPE_ERR_CONFIG_INVALID/);
  }, PROCESS_TEST_TIMEOUT_MS);
});
