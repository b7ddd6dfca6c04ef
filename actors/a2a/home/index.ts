/**
 * A2A tasks on their agent's node: the home actor that serves an agent's request handler to
 * other nodes, and the forwarding handlers (with the streams actor) on the node that took
 * the request.
 */
export { startHome } from './home-actor.js';
export { HomeLink, EventQueue, DEFAULT_STREAM_BUFFER, DEFAULT_STREAM_BUFFER_BYTES, forwardOptionsSchema, type ForwardOptions, type HomeLinkOptions } from './forwarder.js';
export { CallMemory, MAX_REMEMBERED_CALLS } from './call-memory.js';
export { CallRecords, HOME_CALLS_DB, MAX_RECORDED_REPLY_BYTES, callRecordSchema, type CallRecord } from './call-records.js';
export { HOME_PATH, STREAMS_PATH, homeMessageSchema, streamMessageSchema, toWireError, fromWireError, type HomeMessage, type StreamMessage } from './wire.js';
