import type { SessionProgress } from './session-messages.js';

/** Progress events buffered for one task at most (past it the rest is read from the session's state). */
const MAX_BUFFERED = 10_000;

/**
 * Progress of one session, buffered until the A2A follower publishes it: `push` is the
 * session's listener, `next` waits for the next event, `take` empties the buffer.
 *
 * @example
 * const q = new ProgressQueue();
 * const off = orchestrator.subscribe(id, q.push);
 * await q.next();
 * for (const p of q.take()) publish(p);
 */
export class ProgressQueue {
  private items: SessionProgress[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  readonly push = (p: SessionProgress): void => {
    if (this.closed) return;
    if (this.items.length < MAX_BUFFERED) this.items.push(p);
    this.wake?.();
    this.wake = undefined;
  };

  take(): SessionProgress[] {
    const out = this.items;
    this.items = [];
    return out;
  }

  /** No more events: a waiting `next` returns. */
  close(): void {
    this.closed = true;
    this.wake?.();
    this.wake = undefined;
  }

  next(): Promise<void> {
    return this.items.length > 0 ? Promise.resolve() : new Promise((r) => (this.wake = r));
  }
}

/**
 * A progress event as an A2A status line and its attribution (the status message's
 * metadata: session, event, node, agent, ...); undefined for the session's end, which is
 * published from its state.
 *
 * @example
 * progressLine({ type: 'node.started', session: 'ses_1', node: 'a', agent: 'research', attempt: 1, at: 0 });
 * // { line: '[research] a: started (attempt 1)', meta: { session_id: 'ses_1', event: 'node.started', node: 'a', agent: 'research', attempt: 1 } }
 */
export function progressLine(p: SessionProgress): { line: string; meta: Record<string, unknown> } | undefined {
  const meta: Record<string, unknown> = { session_id: p.session, event: p.type };
  switch (p.type) {
    case 'node.started':
      return { line: `[${p.agent}] ${p.node}: started (attempt ${p.attempt})`, meta: { ...meta, node: p.node, agent: p.agent, attempt: p.attempt } };
    case 'node.task':
      return { line: `[${p.agent}] ${p.node}: A2A task ${p.task}`, meta: { ...meta, node: p.node, agent: p.agent, attempt: p.attempt, task_id: p.task } };
    case 'node.completed':
      return { line: `[${p.agent}] ${p.node}: completed`, meta: { ...meta, node: p.node, agent: p.agent } };
    case 'node.failed':
      return { line: `[${p.agent}] ${p.node}: failed: ${p.error}`, meta: { ...meta, node: p.node, agent: p.agent } };
    case 'node.skipped':
      return { line: `${p.node}: skipped (${p.reason})`, meta: { ...meta, node: p.node } };
    case 'approval.requested':
      return { line: `${p.node}: waits for approval ${p.approval}`, meta: { ...meta, node: p.node, approval_id: p.approval } };
    case 'approval.decided':
      return {
        line: `approval ${p.approval}: ${p.status} by ${p.decided_by} (${p.source})`,
        meta: { ...meta, node: p.node, approval_id: p.approval, status: p.status, decided_by: p.decided_by, source: p.source },
      };
    case 'dag.revised':
      return { line: `plan revised after ${p.after}: +${p.added.length} -${p.removed.length} node(s)`, meta: { ...meta, after: p.after, added: p.added, removed: p.removed } };
    case 'session.finished':
      return undefined;
  }
}
