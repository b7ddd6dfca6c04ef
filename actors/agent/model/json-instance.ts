/**
 * A deterministic instance of a JSON Schema, for the offline model's structured output
 * (`response_format: { type: 'json_schema' }`): flows that parse a model's JSON (planners,
 * extractors) run and are tested without an upstream.
 *
 * Covered: `type` (one or a list), `const`, `enum`, `properties`/`required`,
 * `additionalProperties`, `minProperties`, `items`/`prefixItems`, `minItems`/`maxItems`,
 * `minLength`/`maxLength`, `format` (date-time, date, time, email, uri, uuid), `minimum`,
 * `maximum`, the exclusive bounds and `multipleOf`, `anyOf`/`oneOf` (the first branch that
 * is not null), `allOf` (object branches merged), and local `$ref`s (`#/$defs/...`,
 * `#/definitions/...`). `pattern` is not solved: a string with a pattern gets the text as is.
 * Work is bounded by depth and by a node budget, so a recursive or huge schema still ends.
 */

type Schema = Record<string, unknown>;

/** Nesting followed before a branch yields its smallest value. */
const MAX_DEPTH = 24;
/** Schema nodes visited per instance. */
const MAX_NODES = 5_000;

interface Walk {
  root: Schema;
  /** Text for the first free string: the model's answer, so the instance says something. */
  text: string | undefined;
  nodes: number;
}

/**
 * An instance of `schema`, with `text` as the value of its first unconstrained string.
 *
 * @example
 * jsonInstance({ type: 'object', properties: { answer: { type: 'string' }, n: { type: 'integer', minimum: 3 } }, required: ['answer', 'n'] }, 'hi');
 * // { answer: 'hi', n: 3 }
 */
export function jsonInstance(schema: unknown, text: string): unknown {
  const root = isSchema(schema) ? schema : {};
  return instance(root, { root, text, nodes: 0 }, 0);
}

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function resolve(s: Schema, w: Walk): Schema {
  let cur = s;
  for (let hops = 0; typeof cur['$ref'] === 'string' && hops < 32; hops++) {
    const ref = cur['$ref'];
    if (!ref.startsWith('#')) return {};
    let target: unknown = w.root;
    for (const raw of ref.slice(1).split('/').filter((p) => p.length > 0)) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      target = isSchema(target) ? target[key] : undefined;
    }
    const { $ref: _ref, ...rest } = cur;
    cur = isSchema(target) ? { ...target, ...rest } : rest;
  }
  return cur;
}

function typeOf(s: Schema): string | undefined {
  const t = s['type'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') ?? t[0]) as string | undefined;
  if (isSchema(s['properties']) || s['required'] !== undefined) return 'object';
  if (s['items'] !== undefined || s['prefixItems'] !== undefined) return 'array';
  return undefined;
}

function instance(input: Schema, w: Walk, depth: number): unknown {
  w.nodes++;
  const s = resolve(input, w);
  if ('const' in s) return s['const'];
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const pick = branches.find((b) => isSchema(b) && resolve(b, w)['type'] !== 'null') ?? branches[0];
      const { [key]: _b, ...rest } = s;
      return instance({ ...rest, ...(isSchema(pick) ? pick : {}) }, w, depth + 1);
    }
  }
  if (Array.isArray(s['allOf'])) {
    const { allOf, ...rest } = s;
    return instance(mergeAll([rest, ...(allOf as unknown[]).filter(isSchema).map((b) => resolve(b, w))]), w, depth + 1);
  }
  const exhausted = depth >= MAX_DEPTH || w.nodes >= MAX_NODES;
  switch (typeOf(s)) {
    case 'object': return objectOf(s, w, depth, exhausted);
    case 'array': return arrayOf(s, w, depth, exhausted);
    case 'string': return stringOf(s, w);
    case 'integer': return numberOf(s, true);
    case 'number': return numberOf(s, false);
    case 'boolean': return true;
    case 'null': return null;
    default: return exhausted ? null : stringOf(s, w);
  }
}

function mergeAll(parts: Schema[]): Schema {
  const out: Schema = {};
  const properties: Schema = {};
  const required = new Set<string>();
  for (const p of parts) {
    Object.assign(out, p);
    if (isSchema(p['properties'])) Object.assign(properties, p['properties']);
    if (Array.isArray(p['required'])) for (const r of p['required']) if (typeof r === 'string') required.add(r);
  }
  if (Object.keys(properties).length > 0) out['properties'] = properties;
  if (required.size > 0) out['required'] = [...required];
  return out;
}

function objectOf(s: Schema, w: Walk, depth: number, exhausted: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = isSchema(s['properties']) ? s['properties'] : {};
  const required = Array.isArray(s['required']) ? s['required'].filter((r): r is string => typeof r === 'string') : [];
  // all declared properties (strict structured outputs require them all); only the required
  // ones once the walk is out of budget
  const keys = exhausted ? required : [...new Set([...Object.keys(props), ...required])];
  for (const k of keys) {
    const sub = props[k];
    out[k] = instance(isSchema(sub) ? sub : {}, w, depth + 1);
  }
  const min = typeof s['minProperties'] === 'number' ? s['minProperties'] : 0;
  const extra = s['additionalProperties'];
  for (let i = 0; Object.keys(out).length < min && extra !== false && i < min; i++) {
    out[`key${i}`] = instance(isSchema(extra) ? extra : {}, w, depth + 1);
  }
  return out;
}

function arrayOf(s: Schema, w: Walk, depth: number, exhausted: boolean): unknown[] {
  const prefix = Array.isArray(s['prefixItems']) ? s['prefixItems'].filter(isSchema) : [];
  const items = isSchema(s['items']) ? s['items'] : Array.isArray(s['items']) ? undefined : {};
  const min = Math.max(typeof s['minItems'] === 'number' ? s['minItems'] : 0, exhausted ? 0 : Math.min(prefix.length, 1));
  const max = typeof s['maxItems'] === 'number' ? s['maxItems'] : Number.POSITIVE_INFINITY;
  // one item shows the shape; more only when minItems asks
  const count = Math.min(max, Math.max(min, exhausted || (items === undefined && prefix.length === 0) ? 0 : 1), 1_000);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const sub = prefix[i] ?? items;
    if (sub === undefined) break;
    out.push(instance(sub, w, depth + 1));
  }
  return out;
}

const FORMATS: Record<string, string> = {
  'date-time': '2024-01-01T00:00:00Z',
  date: '2024-01-01',
  time: '00:00:00Z',
  email: 'troupe@example.com',
  uri: 'https://example.com/',
  url: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
};

function stringOf(s: Schema, w: Walk): string {
  const format = typeof s['format'] === 'string' ? FORMATS[s['format']] : undefined;
  let v: string;
  if (format !== undefined) v = format;
  else if (w.text !== undefined) {
    v = w.text;
    w.text = undefined;
  } else v = 'text';
  const min = typeof s['minLength'] === 'number' ? s['minLength'] : 0;
  const max = typeof s['maxLength'] === 'number' ? s['maxLength'] : Number.POSITIVE_INFINITY;
  // lengths in code points, as JSON Schema counts them
  const points = [...v];
  if (points.length > max) v = points.slice(0, max).join('');
  if (points.length < min) v = v + 'x'.repeat(Math.min(min, 1_000_000) - points.length);
  return v;
}

function numberOf(s: Schema, integer: boolean): number {
  const num = (k: string): number | undefined => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  let lo = num('minimum') ?? -Infinity;
  let hi = num('maximum') ?? Infinity;
  const exLo = num('exclusiveMinimum');
  const exHi = num('exclusiveMaximum');
  const step = num('multipleOf') ?? (integer ? 1 : undefined);
  if (exLo !== undefined) lo = Math.max(lo, step !== undefined ? Math.floor(exLo / step) * step + step : exLo + (integer ? 1 : Math.max(Math.abs(exLo) * 1e-9, 1e-9)));
  if (exHi !== undefined) hi = Math.min(hi, step !== undefined ? Math.ceil(exHi / step) * step - step : exHi - (integer ? 1 : Math.max(Math.abs(exHi) * 1e-9, 1e-9)));
  // the value nearest 0 within the bounds (then snapped to multipleOf)
  let v = lo > 0 ? lo : hi < 0 ? hi : 0;
  if (step !== undefined && step > 0) {
    v = lo > 0 ? Math.ceil(v / step) * step : hi < 0 ? Math.floor(v / step) * step : 0;
  }
  return integer ? Math.round(v) : v;
}
