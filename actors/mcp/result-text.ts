type Block = { type?: unknown; [k: string]: unknown };

function blockText(b: Block): string {
  switch (b.type) {
    case 'text':
      return typeof b['text'] === 'string' ? b['text'] : '';
    case 'image':
    case 'audio': {
      // the model gets a marker, not megabytes of base64
      const data = typeof b['data'] === 'string' ? b['data'] : '';
      return `[${b.type} ${String(b['mimeType'] ?? 'application/octet-stream')}, ${Math.floor((data.length * 3) / 4)} bytes]`;
    }
    case 'resource': {
      const r = (b['resource'] ?? {}) as Record<string, unknown>;
      if (typeof r['text'] === 'string') return `[resource ${String(r['uri'] ?? '')}]\n${r['text']}`;
      return `[resource ${String(r['uri'] ?? '')} ${String(r['mimeType'] ?? '')} (binary)]`;
    }
    case 'resource_link':
      return `[resource link ${String(b['uri'] ?? '')}${b['name'] ? ` (${String(b['name'])})` : ''}]`;
    default:
      return JSON.stringify(b);
  }
}

/**
 * The text of a `tools/call` result as the model reads it in a tool message: text blocks as
 * they are, images, audio and binary resources as markers, text resources with their URI,
 * then `structuredContent` as JSON (when the text does not already say the same).
 *
 * @example resultText({ content: [{ type: 'text', text: 'Echo: hi' }] }) // 'Echo: hi'
 */
export function resultText(result: { content?: unknown; structuredContent?: unknown }): string {
  const blocks = Array.isArray(result.content) ? (result.content as Block[]) : [];
  const parts = blocks.map((b) => blockText(b ?? {})).filter((t) => t.length > 0);
  if (result.structuredContent !== undefined) {
    const json = JSON.stringify(result.structuredContent);
    const already = parts.some((p) => {
      try {
        return JSON.stringify(JSON.parse(p)) === json;
      } catch {
        return false;
      }
    });
    if (!already) parts.push(json);
  }
  return parts.join('\n');
}
