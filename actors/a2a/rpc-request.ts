import { z } from 'zod';

/** A JSON-RPC 2.0 request object (A2A has no batches and no notifications without params). */
export const jsonRpcRequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(128),
  id: z.union([z.string().max(256), z.number(), z.null()]).optional(),
  // an object, checked in place (the SDK's transport reads its fields; a copy would be garbage)
  params: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v)).optional(),
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * {@link jsonRpcRequestSchema}'s answer, checked in place (every A2A request passes here; the
 * schema's parse built a copy of the body to throw away). A property test holds the two to
 * the same answer on any input.
 *
 * @example
 * isJsonRpcRequest({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} }); // true
 * isJsonRpcRequest({ jsonrpc: '1.0', method: 'x' }); // false
 */
export function isJsonRpcRequest(body: unknown): boolean {
  if (!isObject(body) || body.jsonrpc !== '2.0') return false;
  const method = body.method;
  if (typeof method !== 'string' || method.length < 1 || method.length > 128) return false;
  const id = body.id;
  if (!(id === undefined || id === null || (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length <= 256))) return false;
  const params = body.params;
  return params === undefined || isObject(params);
}
