import {
  Deadlines, TroupeError, type A2AContextAck, type A2AContextShare, type A2ADelegate, type A2AExecute, type A2AReply, type A2AResult,
  type A2AStatus, type A2AStatusQuery, type Clock, type Timed,
} from '../../../protocol/index.js';

/** Requests waiting for their answer at once; past it new ones are refused. */
export const MAX_PENDING = 100_000;

/** What the client needs of its node. */
export interface ClientDeps {
  clock: Clock;
  /** Durable tell (LMDB outbox to another node; a plain tell to this one): resolves once committed. */
  tellDurable(target: string, message: unknown): Promise<unknown>;
  tell(target: string, message: unknown): void;
}

interface Pending {
  attempt: number;
  /** What a second wait for the same id joins. */
  promise?: Promise<A2AReply>;
  resolve: (r: A2AReply) => void;
  reject: (e: unknown) => void;
  timer: Timed;
}

/**
 * The sending side of agent-to-agent messages on one node: sends a request to the A2A
 * endpoint of the target's node (EXECUTE and DELEGATE durably) and waits, up to a timeout, for
 * the answer the endpoint tells back to this node's endpoint. A retry repeats the message id
 * with the next attempt; a late refusal of an earlier attempt (expired on arrival) does not
 * settle the later one.
 */
export class A2AClient {
  private readonly pending = new Map<string, Pending>();
  private readonly deadlines: Deadlines;

  /** `endpointOf(node)` is the address of a node's A2A endpoint. */
  constructor(private readonly d: ClientDeps, private readonly endpointOf: (node: string) => string) {
    this.deadlines = new Deadlines(d.clock);
  }

  /** EXECUTE or DELEGATE to the endpoint of `node`; rejects with TROUPE_ERR_A2A_DELEGATION_TIMEOUT after `timeoutMs`. */
  task(node: string, m: A2AExecute | A2ADelegate, timeoutMs: number): Promise<A2AResult> {
    return this.wait<A2AResult>(m.id, m.attempt, timeoutMs, `${m.type} to ${m.to} on ${node}`, () => this.d.tellDurable(this.endpointOf(node), m));
  }

  /** STATUS_QUERY to the endpoint of `node`. */
  status(node: string, m: A2AStatusQuery, timeoutMs: number): Promise<A2AStatus> {
    return this.wait<A2AStatus>(m.id, m.attempt, timeoutMs, `status query to ${node}`, () => this.d.tell(this.endpointOf(node), m));
  }

  /** CONTEXT_SHARE to the endpoint of `node`. */
  share(node: string, m: A2AContextShare, timeoutMs: number): Promise<A2AContextAck> {
    return this.wait<A2AContextAck>(m.id, m.attempt, timeoutMs, `context share to ${m.to} on ${node}`, () => this.d.tell(this.endpointOf(node), m));
  }

  /** An answer arrived at this node's endpoint. */
  onReply(r: A2AReply): void {
    const p = this.pending.get(r.inReplyTo);
    if (!p) return; // timed out already, or not ours
    if (r.type === 'a2a.result' && r.attempt < p.attempt && r.error?.code === 'TROUPE_ERR_A2A_MESSAGE_EXPIRED') return;
    this.pending.delete(r.inReplyTo);
    this.deadlines.cancel(p.timer);
    p.resolve(r);
  }

  /** Requests waiting for their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  private wait<R extends A2AReply>(id: string, attempt: number, timeoutMs: number, what: string, send: () => unknown): Promise<R> {
    // the same id asked twice at once: one answer serves both
    const joined = this.pending.get(id)?.promise;
    if (joined) return joined as Promise<R>;
    const promise = new Promise<R>((resolve, reject) => {
      if (this.pending.size >= MAX_PENDING) {
        reject(new TroupeError('TROUPE_ERR_TRANSPORT_QUEUE_FULL', `${MAX_PENDING} A2A requests are already waiting for their answers`));
        return;
      }
      const fail = (e: unknown): void => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        this.deadlines.cancel(p.timer);
        reject(e);
      };
      const timer = this.deadlines.after(timeoutMs, () => fail(new TroupeError('TROUPE_ERR_A2A_DELEGATION_TIMEOUT', `${what}: no answer within ${timeoutMs}ms`, { details: { timeoutMs } })));
      this.pending.set(id, { attempt, resolve: resolve as (r: A2AReply) => void, reject, timer });
      try {
        const sent = send();
        if (sent instanceof Promise) sent.catch(fail);
      } catch (e) {
        fail(e);
      }
    });
    const p = this.pending.get(id);
    if (p) p.promise = promise;
    return promise;
  }
}
