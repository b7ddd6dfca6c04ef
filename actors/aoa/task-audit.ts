import type { StoredTask } from '../../storage/index.js';
import type { ModuleHost } from '../modules/index.js';

/** The task steps the audit log records. */
export type TaskAuditAction = 'TASK_SUBMIT' | 'TASK_START' | 'TASK_FINISH' | 'TASK_CANCEL';

/**
 * A RACI record of a task step (seed 000 §5.2), with the task's own R/A/C/I, its plane and
 * a digest of its payload (on submit), to be committed before the step is reported, when the
 * node runs the audit module (found by name at call time: it starts after aoa). Undefined
 * when it does not (nothing to wait for). The record is read from `t` at the call, so `t`
 * may change afterwards; `attempts` overrides the task's (a submit that also started the
 * task's first attempt records the submit with none).
 *
 * @example
 * const audited = auditTask(host, 'TASK_FINISH', done);
 * if (audited) await audited;
 */
export function auditTask(host: Pick<ModuleHost, 'hasModule' | 'module'>, action: TaskAuditAction, t: StoredTask, attempts = t.attempts): Promise<unknown> | undefined {
  if (!host.hasModule('audit')) return undefined;
  const outcome = t.status === 'completed' ? 'ok' : t.status === 'failed' ? 'error' : t.status === 'cancelled' ? 'cancelled' : undefined;
  try {
    return host.module<{ record(input: Record<string, unknown>): Promise<unknown> }>('audit').record({
      action, actor: 'aoa', target: t.id, correlationId: t.id,
      ...(t.agent_id !== undefined ? { agent: t.agent_id } : {}),
      responsible: t.raci_responsible,
      ...(t.raci_accountable !== undefined ? { accountable: t.raci_accountable } : {}),
      consulted: t.raci_consulted.slice(0, 16), informed: t.raci_informed.slice(0, 16),
      ...(t.primary_plane_id !== undefined ? { primaryPlaneId: t.primary_plane_id } : {}),
      ...(outcome !== undefined && (action === 'TASK_FINISH' || action === 'TASK_CANCEL') ? { outcome } : {}),
      ...(action === 'TASK_SUBMIT' ? { payload: t.payload } : {}),
      details: { task_type: t.task_type, priority: t.priority, attempts },
    });
  } catch (e) {
    return Promise.reject(e);
  }
}
