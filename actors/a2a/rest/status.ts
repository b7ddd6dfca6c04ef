import { restStatusFor } from '@a2a-js/sdk/errors';

/**
 * HTTP statuses of A2A errors where the spec's mapping (5.4) differs from the SDK's, which
 * answers 400 or 500 for these: not cancelable is 409 Conflict, an unsupported content
 * type 415, an invalid agent response 502 Bad Gateway.
 */
const SPEC_STATUS: Readonly<Record<string, number>> = Object.freeze({
  TaskNotCancelableError: 409,
  ContentTypeNotSupportedError: 415,
  InvalidAgentResponseError: 502,
});

/** The HTTP status of an error on the REST binding. */
export function restStatusOf(err: unknown): number {
  const name = err instanceof Error ? err.name : '';
  return SPEC_STATUS[name] ?? restStatusFor(err);
}
