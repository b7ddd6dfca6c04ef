import { LegacyA2AError, toLegacyHTTPError } from '@a2a-js/sdk/compat/v0_3/server';
import { A2AError } from '@a2a-js/sdk/errors';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { TroupeError, errorCatalog, type ErrorCode } from '../../../protocol/index.js';

/** The A2A (JSON-RPC) error codes of the 0.3 REST bodies troupe answers itself. */
export const LEGACY_CODE = Object.freeze({
  PARSE_ERROR: -32700,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  TASK_NOT_FOUND: -32001,
  CONTENT_TYPE_NOT_SUPPORTED: -32005,
});

/** The 0.3 REST error body (the SDK's `toLegacyHTTPError` shape): a bare `{ code, message, data? }`. */
export interface LegacyErrorBody {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * HTTP statuses of A2A error codes as the spec maps them (1.0, 5.4; 0.3 names none), where
 * the SDK's 0.3 router answers otherwise (400 for not cancelable and a content type, 500 for
 * an invalid agent response, 501 for an unknown operation).
 */
const SPEC_STATUS: Readonly<Record<number, number>> = Object.freeze({
  [-32601]: 404,
  [-32001]: 404,
  [-32002]: 409,
  [-32005]: 415,
  [-32006]: 502,
});

const isErrorCode = (c: unknown): c is ErrorCode => typeof c === 'string' && Object.hasOwn(errorCatalog, c);

/**
 * The HTTP status of a 0.3 REST error body: a troupe error's own status (its code is in
 * `data.code`), else the spec's for the A2A code, else what the SDK chose.
 */
export function legacyStatusOf(body: LegacyErrorBody, sdkStatus: number): number {
  const troupe = body.data?.code;
  if (isErrorCode(troupe)) return errorCatalog[troupe].status;
  return SPEC_STATUS[body.code] ?? sdkStatus;
}

/** True for a 0.3 REST error body. */
export function isLegacyErrorBody(v: unknown): v is LegacyErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as LegacyErrorBody).code === 'number' && typeof (v as LegacyErrorBody).message === 'string';
}

/** A 0.3 REST error body of troupe's own (before the SDK's router is reached). */
export function legacyError(code: number, message: string, data?: Record<string, unknown>): LegacyErrorBody {
  return { code, message: message.slice(0, 500), ...(data ? { data } : {}) };
}

/**
 * A troupe error as the A2A error the SDK's 0.3 translation understands: invalid params
 * (-32602) for a caller's fault, internal error (-32603) for the server's, its code in the
 * message and in `data.code` (from which {@link legacyStatusOf} takes its status).
 */
function asA2AError(e: unknown): unknown {
  // an A2A error made of a troupe error (a refused push URL is invalid params): its code kept in data
  const wrapped = e instanceof A2AError ? e.metadata?.code : undefined;
  if (isErrorCode(wrapped)) {
    const body = toLegacyHTTPError(e);
    return new LegacyA2AError(body.code, body.message, { code: wrapped });
  }
  if (!(e instanceof TroupeError)) return e;
  const code = e.status < 500 ? LEGACY_CODE.INVALID_PARAMS : LEGACY_CODE.INTERNAL_ERROR;
  const message = e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}`;
  return new LegacyA2AError(code, message, { code: e.code });
}

async function* mapStream<T>(events: AsyncGenerator<T, void, undefined>): AsyncGenerator<T, void, undefined> {
  try {
    yield* events;
  } catch (e) {
    throw asA2AError(e);
  }
}

/**
 * The request handler as the SDK's 0.3 REST router sees it: the same handler, whose troupe
 * errors (a refused push URL, an unreachable home node, ...) become A2A errors carrying their
 * code, where the router would answer any of them as a bare 500.
 *
 * @example
 * legacyRestRouter({ requestHandler: withLegacyErrors(endpoint.handler), userBuilder });
 */
export function withLegacyErrors(handler: A2ARequestHandler): A2ARequestHandler {
  return new Proxy(handler, {
    get(target, prop, receiver) {
      const member: unknown = Reflect.get(target, prop, receiver);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]): unknown => {
        let out: unknown;
        try {
          out = member.apply(target, args);
        } catch (e) {
          throw asA2AError(e);
        }
        if (out instanceof Promise) return out.catch((e: unknown) => { throw asA2AError(e); });
        if (out && typeof (out as AsyncGenerator<unknown>)[Symbol.asyncIterator] === 'function' && typeof (out as AsyncGenerator<unknown>).next === 'function') {
          return mapStream(out as AsyncGenerator<unknown, void, undefined>);
        }
        return out;
      };
    },
  });
}
