import { ContentTypeNotSupportedError } from '@a2a-js/sdk/errors';

const JSON_TYPES = /^application\/(a2a\+)?json\s*(;|$)/i;

/**
 * A request body is JSON (`application/json` or the A2A media type `application/a2a+json`);
 * any other declared type is ContentTypeNotSupportedError (415), as the SDK's own REST
 * handler refuses it, instead of a body some other parser took as text.
 */
export function checkRequestMediaType(headers: Record<string, unknown>): void {
  const ct = headers['content-type'];
  if (typeof ct !== 'string' || ct.trim() === '') return;
  if (!JSON_TYPES.test(ct.trim())) throw new ContentTypeNotSupportedError(`content type ${ct.slice(0, 64)} is not supported: send application/json or application/a2a+json`);
}
