/**
 * The AOA task runtime (seed 000 §3.1): a durable priority queue of tasks run by an
 * autoscaling pool of supervised worker actors, with retries, timeouts, cancel and metrics.
 */
export { aoaModule, AOA_MODULE, type AoaModuleOptions } from './module.js';
export { AoaRuntime } from './runtime.js';
export type { AoaApi, SubmitHook } from './api.js';
export { aoaOptionsSchema, type AoaOptionsInput, type AoaOptions } from './options.js';
export { TaskQueue, effectiveRank, type QueueEntry } from './queue.js';
export { taskSubmitSchema, parseSubmit, viewOf, BUILTIN_TASK_TYPES, type TaskSubmitInput, type TaskRecordView, type TaskStatus, type TaskHandler, type TaskContext } from './task.js';
