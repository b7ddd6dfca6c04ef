import { TASK_PRIORITIES } from '../../storage/index.js';
import { MAX_PAYLOAD_BYTES, TASK_TYPE_RE, type TaskSubmit } from './task.js';

const PRIORITIES: ReadonlySet<unknown> = new Set(TASK_PRIORITIES);

/**
 * The common submit (`{ task_type, payload?, priority? }` as a plain object, not AGENT_RUN)
 * checked and defaulted exactly as `taskSubmitSchema` does, without a schema walk (which cost
 * more than the rest of a submit). Anything else, valid or not, is undefined: the schema
 * decides it (and names what is wrong). test/aoa/fast-submit.property.test.ts holds the two
 * to the same answers.
 *
 * @example fastSubmit({ task_type: 'NOOP' }); // { task_type: 'NOOP', payload: {}, priority: 'NORMAL', ... }
 */
export function fastSubmit(input: unknown): TaskSubmit | undefined {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return undefined;
  const o = input as Record<string, unknown>;
  // own keys only (the prototype is Object.prototype, whose keys do not enumerate); no key array made
  for (const k in o) if (k !== 'task_type' && k !== 'payload' && k !== 'priority') return undefined;
  const type = o.task_type;
  if (typeof type !== 'string' || type === 'AGENT_RUN' || !TASK_TYPE_RE.test(type)) return undefined;
  const priority = o.priority === undefined ? 'NORMAL' : o.priority;
  if (!PRIORITIES.has(priority)) return undefined;
  let payload = o.payload;
  if (payload === undefined) payload = {};
  else if (typeof payload !== 'object' || payload === null || Object.getPrototypeOf(payload) !== Object.prototype) return undefined;
  else {
    let json: string | undefined;
    try {
      json = JSON.stringify(payload);
    } catch {
      return undefined;
    }
    if (json === undefined || json.length > MAX_PAYLOAD_BYTES) return undefined;
  }
  return {
    task_type: type, payload, priority: priority as TaskSubmit['priority'], timeout_seconds: 300, max_retries: 3,
    raci_responsible: 'AOA', raci_consulted: [], raci_informed: [],
  };
}
