/**
 * Durable delivery keeps its envelopes in the storage layer's outbox and inbox (LMDB on a
 * node with a data dir, the in-memory twins otherwise); one shared test suite in
 * test/storage covers both. transport/ may use storage/ for exactly this (ARCHITECTURE.md).
 */
export { MemoryInboxStore, MemoryOutboxStore, type InboxStore, type OutboxStore } from '../storage/index.js';
