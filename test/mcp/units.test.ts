import { describe, expect, it } from 'vitest';
import { agentToolName, mcpServerSchema, resultText } from '../../index.js';

describe('MCP server configs', () => {
  it('default to stdio with limits, and take http servers with headers', () => {
    const s = mcpServerSchema.parse({ name: 'memory', command: 'npx', args: ['-y', 'x'] });
    expect(s).toMatchObject({ transport: 'stdio', env: {}, callTimeoutMs: 60_000, connectTimeoutMs: 30_000, maxTools: 256 });
    const h = mcpServerSchema.parse({ name: 'remote', transport: 'http', url: 'https://example.com/mcp', headers: { Authorization: 'Bearer x' } });
    expect(h).toMatchObject({ transport: 'http', url: 'https://example.com/mcp' });
  });

  it('refuse bad names, unknown fields, non-http URLs and out-of-range limits', () => {
    expect(mcpServerSchema.safeParse({ name: 'Bad Name', command: 'x' }).success).toBe(false);
    expect(mcpServerSchema.safeParse({ name: 'ok', command: 'x', extra: 1 }).success).toBe(false);
    expect(mcpServerSchema.safeParse({ name: 'ok', transport: 'http', url: 'file:///etc/passwd' }).success).toBe(false);
    expect(mcpServerSchema.safeParse({ name: 'ok', command: 'x', callTimeoutMs: 0 }).success).toBe(false);
    expect(mcpServerSchema.safeParse({ name: 'ok', transport: 'ftp', url: 'x' }).success).toBe(false);
    expect(mcpServerSchema.safeParse({ name: 'ok', command: 'x', env: { 'BAD-NAME': 'v' } }).success).toBe(false);
  });
});

describe('tool names and results as the model sees them', () => {
  it('names are <server>__<tool>, made safe and at most 64 characters', () => {
    expect(agentToolName('everything', 'get-sum')).toBe('everything__get-sum');
    expect(agentToolName('fs', 'read.file/v2')).toBe('fs__read_file_v2');
    expect(agentToolName('s', 'x'.repeat(100))).toHaveLength(64);
  });

  it('text, images, resources and structuredContent become one text', () => {
    expect(resultText({ content: [{ type: 'text', text: 'Echo: hi' }] })).toBe('Echo: hi');
    const mixed = resultText({
      content: [
        { type: 'text', text: 'Here:' },
        { type: 'image', data: 'AAAA', mimeType: 'image/png' },
        { type: 'resource', resource: { uri: 'test://a', text: 'body' } },
        { type: 'resource', resource: { uri: 'test://b', mimeType: 'application/zip', blob: 'AAAA' } },
        { type: 'resource_link', uri: 'test://c', name: 'c' },
      ],
      structuredContent: { ok: true },
    });
    expect(mixed.split('\n')).toEqual(['Here:', '[image image/png, 3 bytes]', '[resource test://a]', 'body', '[resource test://b application/zip (binary)]', '[resource link test://c (c)]', '{"ok":true}']);
    // structured content the text already says is not repeated
    expect(resultText({ content: [{ type: 'text', text: '{"t": 1}' }], structuredContent: { t: 1 } })).toBe('{"t": 1}');
    expect(resultText({})).toBe('');
  });
});
