import type { Graph } from './graph.js';
import type { SessionState } from './session-state.js';

const isSettled = (st: string): boolean => st === 'completed' || st === 'failed' || st === 'skipped';

/**
 * The nodes of a session not yet completed, failed or skipped: those whose upstream nodes
 * all settled (`ready`, in topological order), and the others with their count of open
 * upstream nodes. Built once per incarnation (or revision) from the state, then kept up to
 * date as nodes settle, so no message scans the whole DAG.
 */
export class Frontier {
  readonly ready = new Set<string>();
  private readonly waiting = new Map<string, number>();
  /** Nodes not settled. */
  open = 0;

  constructor(s: SessionState, private readonly g: Graph) {
    for (const nodeId of g.order) {
      if (isSettled(s.nodes[nodeId]!.status)) continue;
      this.open++;
      let pending = 0;
      for (const p of g.preds.get(nodeId)!) if (!isSettled(s.nodes[p]!.status)) pending++;
      if (pending === 0) this.ready.add(nodeId);
      else this.waiting.set(nodeId, pending);
    }
  }

  /** A node completed, failed or was skipped: its successors have one open upstream node less. */
  settle(nodeId: string): void {
    this.open--;
    this.ready.delete(nodeId);
    for (const next of this.g.succs.get(nodeId)!) {
      const left = (this.waiting.get(next) ?? 1) - 1;
      if (left > 0) this.waiting.set(next, left);
      else {
        this.waiting.delete(next);
        this.ready.add(next);
      }
    }
  }
}
