import { TroupeError } from '../protocol/index.js';

/**
 * Deepest nesting of arrays and objects a JSON request body may have. OpenAI requests,
 * tool schemas and A2A messages stay far below it; a body past it is refused at the edge,
 * before any route, actor or journal write (whose encoders recurse) sees it.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function refused(message: string, details: Record<string, unknown> = {}): TroupeError {
  return new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', message, { details: { param: null, ...details } });
}

/**
 * The deepest nesting in a JSON text, stopping as soon as it passes `limit`. One pass,
 * no recursion, so a hostile body costs its length and no stack.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  // Nesting never exceeds the number of opening brackets: most bodies have far fewer than
  // the limit, counted with native searches, and need no scan character by character.
  if (openingsAtMost(text, limit)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
    } else if (ch === QUOTE) inString = true;
    else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** True when `text` holds at most `limit` of `{` and `[` together (inside strings too: an upper bound). */
function openingsAtMost(text: string, limit: number): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > limit) return false;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > limit) return false;
  return true;
}

/** Where a forbidden key sits, as a dotted path (`messages.0.__proto__`), or undefined. */
function forbiddenKey(value: unknown, path: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = forbiddenKey(value[i], path === '' ? String(i) : `${path}.${i}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    const v = (value as Record<string, unknown>)[key];
    // `__proto__` anywhere, and `constructor.prototype`, would reach an object's prototype
    // once a handler spreads or merges the body.
    if (key === '__proto__') return here;
    if (key === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype')) return `${here}.prototype`;
    const found = forbiddenKey(v, here);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Parse a JSON request body with the gateway's edge rules: nesting deeper than
 * {@link MAX_JSON_DEPTH} and prototype keys (`__proto__`, `constructor.prototype`) are
 * refused with TROUPE_ERR_GATEWAY_BAD_REQUEST saying what was refused; invalid JSON too.
 *
 * @example
 * parseJsonBody('{"model":"echo"}'); // { model: 'echo' }
 * parseJsonBody('{"__proto__":{}}'); // throws: key "__proto__" is not allowed
 */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.length === 0) throw refused('Body cannot be empty when content-type is application/json');
  if (jsonDepthExceeds(text, maxDepth)) {
    throw refused(`Body nests arrays and objects deeper than ${maxDepth} levels`, { maxDepth });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `Body is not valid JSON: ${(cause as Error).message}`, { cause, details: { param: null } });
  }
  // cheap test first: almost no body names either key (or escapes characters, which could spell one)
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    const at = forbiddenKey(value, '');
    if (at !== undefined) {
      throw refused(`Body key "${at}" is not allowed: "__proto__" and "constructor.prototype" keys are refused to protect object prototypes`, { param: at });
    }
  }
  return value;
}
