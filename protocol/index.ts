export * from './errors.js';
export * from './envelope.js';
export * from './signals.js';
export * from './codec.js';
export * from './ids.js';
export * from './openai.js';
export * from './backoff.js';
export * from './net.js';
