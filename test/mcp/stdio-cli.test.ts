import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '../helpers.js';
import { BIN } from '../process.js';
import { memoryServer, processGone } from './fixtures.js';

const t = tempDir('troupe-mcp-cli-');
afterAll(() => t.cleanup());

describe('troupe mcp: the same tools over stdio (a real process, the SDK client)', () => {
  it('initializes, lists tools, runs an agent with progress, and stdout carries only protocol', async () => {
    const config = join(t.dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({
      agents: [{ name: 'echo', description: 'echoes' }, { name: 'keeper', tools: ['mcp:memory/*'] }],
      mcpServers: [memoryServer(join(t.dir, 'memory.jsonl'))],
      logLevel: 'info',
    }));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--config', config, '--data', join(t.dir, 'data'), '--node', 'stdio-node'],
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const errors: Error[] = [];
    const client = new Client({ name: 'troupe-test', version: '1.0.0' });
    client.onerror = (e) => errors.push(e);
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining(['list_agents', 'run_agent', 'cluster_status']));
      const list = await client.callTool({ name: 'list_agents', arguments: {} });
      expect((list.structuredContent as { agents: Array<{ name: string; node: string }> }).agents).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'echo', node: 'stdio-node' }), expect.objectContaining({ name: 'keeper' })]));
      const progress: string[] = [];
      const r = await client.callTool({ name: 'run_agent', arguments: { agent: 'echo', input: 'hi from stdio' } }, undefined, {
        onprogress: (p) => progress.push(p.message ?? ''),
      });
      expect((r.content as Array<{ text: string }>)[0]!.text).toBe('[troupe-offline] You said: hi from stdio');
      expect(progress.length).toBeGreaterThan(0);
      // all of the streamed answer, none of it lost with the result (the server's ping barrier)
      expect(progress.join('')).toBe('[troupe-offline] You said: hi from stdio');
      // the config file's mcpServers: an MCP client -> troupe mcp -> an agent -> server-memory
      await until(async () => {
        const s = await client.callTool({ name: 'mcp_servers', arguments: {} });
        return (s.structuredContent as { servers: Array<{ state: string }> }).servers[0]?.state === 'ready';
      }, 15_000, 'memory server ready');
      const kept = await client.callTool({ name: 'run_agent', arguments: { agent: 'keeper', input: 'call memory__create_entities {"entities":[{"name":"Grace","entityType":"person","observations":["COBOL"]}]}' } });
      expect((kept.content as Array<{ text: string }>)[0]!.text).toContain('Grace');
      const bad = await client.callTool({ name: 'describe_agent', arguments: { name: 'ghost' } });
      expect(bad.isError).toBe(true);
      // logs went to stderr, and nothing but protocol messages reached stdout
      expect(stderr).toContain('troupe mcp ready');
      // no progress arrived after its result (the SDK client reports that as an unknown token)
      expect(errors).toEqual([]);
    } finally {
      const pid = transport.pid!;
      await client.close();
      // stdin closed: the node shut down and the process is gone
      await until(() => processGone(pid), 10_000, 'troupe mcp exits');
    }
  }, 60_000);
});
