import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { flat, newId } from '../protocol/index.js';
import { isOpenAIPath } from './errors.js';

/** How much of a refused request is read to find its path. */
const REQUEST_LINE_BYTES = 2048;

/** The path of the request line in the bytes Node got before it gave up, if any. */
function pathOf(raw: Buffer | undefined): string {
  if (!raw) return '';
  const m = /^[A-Z]{3,10} (\S+) HTTP\//.exec(raw.toString('latin1', 0, Math.min(raw.length, REQUEST_LINE_BYTES)));
  return m?.[1] ?? '';
}

/**
 * fastify's `clientErrorHandler`: requests Node's HTTP parser refuses (headers over its
 * size limit: 431; a request that timed out: 408; malformed: 400) get an `x-request-id` and
 * the envelope of their route, as every other response does, then the socket is closed.
 */
export function clientErrorHandler(logger: Logger): (error: Error, socket: Socket) => void {
  return (error, socket) => {
    // Node sets `code` and, for parser errors, `rawPacket` (the bytes it had read)
    const err = error as Error & { code?: string; rawPacket?: unknown };
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let message = 'The request could not be parsed as HTTP';
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      message = 'Request headers are too large';
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      message = 'The request was not received in time';
    }
    const id = flat('req_', newId());
    const code = 'TROUPE_ERR_GATEWAY_BAD_REQUEST';
    const body = JSON.stringify(isOpenAIPath(pathOf(Buffer.isBuffer(err.rawPacket) ? err.rawPacket : undefined))
      ? { error: { message, type: 'invalid_request_error', param: null, code } }
      : { error: { code, message } });
    logger.debug({ reqId: id, status, code: err.code }, 'client error');
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${id}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroySoon?.();
  };
}
