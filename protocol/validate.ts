import type { z } from 'zod';
import { TroupeError, type ErrorCode } from './errors.js';

/** zod issues as one line: `path: message; path: message` (`(root)` for the value itself). */
export function describeIssues(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }, root = '(root)'): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`).join('; ');
}

/**
 * `o` without its undefined fields, so that merging option layers (`{ ...defaults, ...env }`)
 * lets an unset value fall through.
 *
 * @example withoutUndefined({ a: 1, b: undefined }); // { a: 1 }
 */
export function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Parse `input` with `schema` or throw a coded error naming every bad field: the one way
 * options, configs and messages are validated at a boundary.
 *
 * @example const o = parseOrThrow(optionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid node options');
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, code: ErrorCode, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new TroupeError(code, `${what}: ${describeIssues(r.error)}`);
  return r.data;
}
