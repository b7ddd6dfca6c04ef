import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import { supervisionSchema, type RestartType, type SupervisionPolicy } from '../../supervisors/index.js';
import type { ActorSpec, Behaviour, Receive } from './behaviour.js';

/** A name an actor may be given; the kernel's generated names start with `$`, which no given name can. */
export const ACTOR_NAME_RE = /^[A-Za-z0-9._~:@+-]{1,200}$/;
/** Messages per turn by default: enough to amortise a turn, few enough that one busy actor does not starve the rest. */
export const DEFAULT_THROUGHPUT = 64;
/** Deepest supervision tree one spec may describe through `children`. */
const MAX_SPEC_DEPTH = 32;

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');
const zodSchema = z.custom<z.ZodType>((v) => typeof (v as { safeParse?: unknown } | null)?.safeParse === 'function', 'must be a zod schema');

/** A persistent behaviour's journal spec. */
export const persistenceSpecSchema = z.object({
  key: z.string().min(1).max(1_024).optional(),
  apply: fn,
  snapshotEvery: z.number().int().positive().max(10_000_000).optional(),
  keepSnapshots: z.number().int().positive().max(1_000).optional(),
});

const behaviourObjectSchema = z.looseObject({
  receive: fn,
  initial: fn.optional(),
  signal: fn.optional(),
  messages: zodSchema.optional(),
  instances: z.array(fn).max(64).optional(),
  persistence: persistenceSpecSchema.optional(),
});

/**
 * An actor spec as the kernel accepts it at spawn, checked once per spec object. Unknown keys
 * are refused so a misspelt option fails at once instead of being ignored.
 */
export const actorSpecSchema = z.strictObject({
  name: z.string().regex(ACTOR_NAME_RE, 'use 1-200 of [A-Za-z0-9._~:@+-]').optional(),
  behaviour: z.unknown().optional(),
  initialState: z.unknown().optional(),
  restart: z.enum(['permanent', 'transient', 'temporary']).optional(),
  supervision: supervisionSchema.optional(),
  children: z.array(z.custom<ActorSpec>((v) => typeof v === 'object' && v !== null, 'must be an actor spec')).max(10_000).optional(),
  mailboxCapacity: z.number().int().positive().max(10_000_000).optional(),
  poisonAfter: z.number().int().positive().max(1_000).optional(),
  throughput: z.number().int().positive().max(100_000).optional(),
});

/** A spec after validation and defaults: what a cell is built from (every incarnation reads the same). */
export interface ResolvedSpec {
  readonly name: string | undefined;
  readonly behaviour: Behaviour<any, any, any>;
  readonly initialState: unknown;
  readonly restart: RestartType;
  /** How this actor supervises its children (the default policy when the spec gives none). */
  readonly policy: SupervisionPolicy;
  /** True when the spec gave supervision options or children (it is a supervisor). */
  readonly supervises: boolean;
  readonly children: readonly ActorSpec[];
  /** Undefined: the node's default. */
  readonly mailboxCapacity: number | undefined;
  readonly poisonAfter: number;
  readonly throughput: number;
}

/** The children of a spec that lists none: one frozen array, not one per spawned actor. */
const NO_CHILDREN: readonly ActorSpec[] = Object.freeze([]);
const DEFAULT_POLICY: SupervisionPolicy = Object.freeze(supervisionSchema.parse({}));
const NO_BEHAVIOUR: Behaviour<any, any, any> = Object.freeze({ receive: () => undefined });
const resolved = new WeakMap<object, { raw: unknown; spec: ResolvedSpec }>();
const behaviours = new WeakMap<object, Behaviour<any, any, any>>();
/** Parsed policies by the supervision object they came from: specs that share one share the policy. */
const policies = new WeakMap<object, SupervisionPolicy>();

function policyOf(input: object, parsed: SupervisionPolicy): SupervisionPolicy {
  const known = policies.get(input);
  if (known !== undefined) return known;
  const p = Object.freeze(parsed);
  policies.set(input, p);
  return p;
}

function invalid(what: string, detail: string): TroupeError {
  return new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid ${what}: ${detail}`);
}

function resolveBehaviour(b: unknown): Behaviour<any, any, any> {
  if (b === undefined) return NO_BEHAVIOUR;
  if (typeof b !== 'function' && (typeof b !== 'object' || b === null)) throw invalid('actor spec', 'behaviour: must be a function or a behaviour object');
  const known = behaviours.get(b);
  if (known !== undefined) return known;
  let out: Behaviour<any, any, any>;
  if (typeof b === 'function') {
    out = { receive: b as Receive<any, any> };
  } else {
    const r = behaviourObjectSchema.safeParse(b);
    if (!r.success) throw invalid('behaviour', describeIssues(r.error));
    out = b as Behaviour<any, any, any>;
  }
  behaviours.set(b, out);
  return out;
}

/**
 * Validate a spec (and, recursively, its child specs) when an actor or supervisor is spawned:
 * a bad spec is TROUPE_ERR_CONFIG_INVALID to the caller at once, never a latent failure on the
 * first crash. Parsed once per spec object (a spec is read, not watched: spawn with a new
 * object to change it); `behaviour` may come apart from the options, as `spawn(b, options)`
 * passes it, so both halves are cached by identity.
 *
 * @example resolveSpec({ name: 'w', restart: 'sometimes' }) // throws TROUPE_ERR_CONFIG_INVALID
 */
export function resolveSpec(options: Omit<ActorSpec, 'behaviour'> & { behaviour?: unknown }, behaviour: unknown = options.behaviour, depth = 0): ResolvedSpec {
  if (typeof options !== 'object' || options === null) throw invalid('actor spec', 'must be an object');
  const cached = resolved.get(options);
  if (cached !== undefined && cached.raw === behaviour) return cached.spec;
  if (depth > MAX_SPEC_DEPTH) throw invalid('actor spec', `children nested deeper than ${MAX_SPEC_DEPTH}`);
  const r = actorSpecSchema.safeParse(options);
  if (!r.success) throw invalid(`actor spec${typeof options.name === 'string' ? ` "${options.name.slice(0, 200)}"` : ''}`, describeIssues(r.error));
  const o = r.data;
  const children = options.children ?? NO_CHILDREN;
  const names = new Set<string>();
  for (const c of children) {
    resolveSpec(c, c.behaviour, depth + 1);
    if (c.name !== undefined) {
      if (names.has(c.name)) throw invalid('actor spec', `two children named "${c.name}"`);
      names.add(c.name);
    }
  }
  const out: ResolvedSpec = Object.freeze({
    name: o.name,
    behaviour: resolveBehaviour(behaviour),
    initialState: options.initialState,
    restart: o.restart ?? 'permanent',
    policy: o.supervision === undefined ? DEFAULT_POLICY : policyOf(options.supervision!, o.supervision),
    supervises: o.supervision !== undefined || children.length > 0,
    children,
    mailboxCapacity: o.mailboxCapacity,
    poisonAfter: o.poisonAfter ?? 3,
    throughput: o.throughput ?? DEFAULT_THROUGHPUT,
  });
  resolved.set(options, { raw: behaviour, spec: out });
  return out;
}
