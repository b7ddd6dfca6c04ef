import { TroupeError, serializeError } from '../../protocol/index.js';
import { SupervisorPlanner, type ChildInfo, type ExitKind } from '../../supervisors/index.js';
import type { Cell } from './cell.js';
import { restartAfter, suspend, terminate } from './incarnation.js';
import type { Delivery } from './mailbox.js';

/**
 * Supervision execution: one cell as the parent of its children. supervisors/ decides (the
 * planner: strategy, restart type, intensity, backoff, decider); this carries the plan out,
 * publishes it as an inspection event and logs it. The policy was validated when the cell
 * was spawned, so a decision never fails on a bad option.
 */
export class Supervision {
  private planner?: SupervisorPlanner;
  /** Guardians give every child a restart budget of its own. */
  private plannersPerChild?: Map<string, SupervisorPlanner>;

  constructor(private readonly cell: Cell) {}

  private plannerFor(child: string): SupervisorPlanner {
    const policy = this.cell.spec.policy;
    if (!this.cell.guardian) return (this.planner ??= new SupervisorPlanner(policy));
    this.plannersPerChild ??= new Map();
    let p = this.plannersPerChild.get(child);
    if (!p) {
      p = new SupervisorPlanner(policy);
      this.plannersPerChild.set(child, p);
    }
    return p;
  }

  /** A child is gone for good: its restart window and backoff go with it. */
  forget(name: string): void {
    this.plannersPerChild?.delete(name);
    this.planner?.forget(name);
  }

  private childInfos(): ChildInfo[] {
    const out: ChildInfo[] = [];
    for (const c of this.cell.children.values()) out.push({ id: c.name, restart: c.spec.restart });
    return out;
  }

  /** A child crashed, exited normally, or shut down past its own intensity: plan and carry out the decision. */
  childExited(child: Cell, exit: ExitKind, error: unknown, failing: Delivery | undefined, unresumable = false): void {
    const cell = this.cell;
    const host = cell.host;
    const planner = this.plannerFor(child.name);
    const plan = planner.plan(this.childInfos(), child.name, exit, error, host.clock.now(), host.random(), unresumable);
    const serialized = error === undefined ? undefined : serializeError(error);
    const top = cell.guardian || cell.parent === undefined;
    const affected = plan.kind === 'restart' ? plan.restart : plan.kind === 'remove' ? [plan.child] : plan.kind === 'escalate' && !top ? [...cell.children.keys()] : [child.name];
    host.emit({
      type: 'supervisor.decision', supervisor: cell.ref.address, child: child.ref.address, directive: plan.directive,
      plan: plan.kind, strategy: planner.policy.strategy, affected,
      ...(plan.kind === 'restart' ? { delayMs: plan.delayMs } : {}),
      ...(plan.kind === 'escalate' ? { reason: plan.reason } : {}),
      ...(serialized ? { error: serialized } : {}),
    });
    cell.log.info({ child: child.path, exit, plan: plan.kind, directive: plan.directive, affected, err: error }, 'supervisor decision');

    switch (plan.kind) {
      case 'resume':
        failing?.meta?.replyTo?.error(new TroupeError('TROUPE_ERR_ACTOR_FAILED', `${child.ref.address} failed: ${serialized?.message}`, { cause: error }));
        if (failing) host.deadLetter('poison', child.ref.address, failing.message, failing.meta, error);
        return;
      case 'remove':
        terminate(child, exit === 'normal' ? 'stopped' : 'crashed', error, failing);
        return;
      case 'restart': {
        const restartSet = new Set(plan.restart);
        for (const id of plan.stop) {
          const c = cell.children.get(id);
          if (!c) continue;
          if (restartSet.has(id)) suspend(c, id === child.name ? failing : undefined, error);
          else terminate(c, 'supervisor-stopped', undefined, undefined);
        }
        for (const id of plan.restart) {
          const c = cell.children.get(id);
          if (c) restartAfter(c, plan.delayMs);
        }
        return;
      }
      case 'escalate': {
        const intensity = plan.reason === 'intensity';
        const err = intensity
          ? new TroupeError('TROUPE_ERR_SUPERVISOR_INTENSITY', `${cell.ref.address}: more than ${planner.policy.maxRestarts} restarts within ${planner.policy.withinMs}ms (last: ${child.path}: ${serialized?.message})`, { cause: error })
          : error;
        if (top) {
          // The top of a tree cannot fail: it stops the failed child for good and says so.
          const past = new TroupeError('TROUPE_ERR_SUPERVISOR_ESCALATED', `${child.ref.address} failed past the top of the tree (${cell.ref.address}) and was stopped for good: ${serializeError(err).message}`, { cause: err });
          host.emit({ type: 'supervisor.escalated', supervisor: cell.ref.address, child: child.ref.address, error: serializeError(past), cause: serializeError(err) });
          cell.log.error({ child: child.path, err }, 'failure escalated to the top of the tree; child stopped');
          terminate(child, 'crashed', past, failing);
          return;
        }
        // Stop every child (reverse start order), the failed one first marked as crashed.
        terminate(child, 'crashed', error, failing);
        const kids = [...cell.children.values()].reverse();
        for (const c of kids) terminate(c, 'supervisor-stopped', undefined, undefined);
        // Past its intensity a supervisor shuts down, as in OTP: its parent restarts it only
        // when it is permanent. An escalating decider makes it crash with the child's error.
        cell.crashed(err, undefined, undefined, cell.incarnation, false, intensity ? 'shutdown' : 'crash');
        return;
      }
    }
  }
}
