import type { ChatMessage, ToolSpec } from '../../../protocol/index.js';

/**
 * A deterministic, approximate tokenizer: a token is optional leading whitespace plus up
 * to four non-space characters. Good enough for usage estimates and for the offline
 * model's `max_tokens`; never used to bill anyone.
 */
const TOKEN_RE = /\s*\S{1,4}/g;

/**
 * Split text into approximate tokens whose concatenation is the text again.
 *
 * @example
 * splitTokens('hello world'); // ['hell', 'o', ' worl', 'd']
 */
export function splitTokens(text: string): string[] {
  const pieces = text.match(TOKEN_RE) ?? [];
  const covered = pieces.reduce((n, p) => n + p.length, 0);
  if (covered < text.length) {
    // Only trailing whitespace is left over; keep it so nothing is lost.
    const rest = text.slice(covered);
    if (pieces.length === 0) return [rest];
    pieces[pieces.length - 1] += rest;
  }
  return pieces;
}

/**
 * Approximate token count of a text.
 *
 * @example
 * estimateTokens('hello world'); // 4
 */
export function estimateTokens(text: string): number {
  // What splitTokens would count, without making the pieces: each run of non-space
  // characters is ceil(length / 4) tokens (leading whitespace rides along).
  let n = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    if (isSpace(text.charCodeAt(i))) {
      n += Math.ceil(run / 4);
      run = 0;
    } else {
      run++;
    }
  }
  return n + Math.ceil(run / 4);
}

/**
 * `text.replace(/\s+/g, ' ').trim()`: runs of whitespace as one space, none at either end.
 * Text that is so already (most messages) comes back as it is, after one scan and no regex.
 *
 * @example
 * collapseSpaces('  hello \n world '); // 'hello world'
 */
export function collapseSpaces(text: string): string {
  let prevSpace = true; // a space first would be trimmed
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20) {
      if (prevSpace) return text.replace(/\s+/g, ' ').trim();
      prevSpace = true;
    } else if (isSpace(c)) {
      return text.replace(/\s+/g, ' ').trim();
    } else {
      prevSpace = false;
    }
  }
  return prevSpace && text.length > 0 ? text.replace(/\s+/g, ' ').trim() : text;
}

/** Exactly the code units regex `\s` matches. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Per-message framing overhead, as chat formats add a few tokens per message. */
const MESSAGE_OVERHEAD = 3;

/**
 * Approximate prompt tokens of a conversation plus the tools offered with it.
 *
 * @example
 * estimatePromptTokens([{ role: 'user', content: 'hi' }]); // 4
 */
export function estimatePromptTokens(messages: ReadonlyArray<ChatMessage>, tools: ReadonlyArray<ToolSpec> = []): number {
  let n = 0;
  for (const m of messages) {
    n += MESSAGE_OVERHEAD + estimateTokens(messageText(m));
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) n += estimateTokens(`${c.name} ${c.arguments}`);
  }
  for (const t of tools) n += estimateTokens(JSON.stringify(t));
  return n;
}

/**
 * The plain text of a message (text parts joined; images, audio and files left out).
 *
 * @example
 * messageText({ role: 'user', content: [{ type: 'text', text: 'hi' }] }); // 'hi'
 */
export function messageText(m: ChatMessage): string {
  if (m.content === null) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}
