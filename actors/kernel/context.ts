import type { Logger } from 'pino';
import type { ActorSpec, AskOptions, Context, TellOptions, Timers } from './behaviour.js';
import type { Cell } from './cell.js';
import type { Meta } from './meta.js';
import { pipeToSelf } from './pipe-to-self.js';
import type { ActorRef } from './ref.js';
import { resolveSpec } from './spec.js';

/**
 * The context of one message (or of `initial`/a signal, with no meta), for the incarnation
 * `inc` that handles it. Cheap to allocate: one per message.
 */
export class MessageContext implements Context {
  private _log?: Logger;

  constructor(private readonly cell: Cell, private readonly meta: Meta | undefined, private readonly inc: number) {}

  get self(): ActorRef { return this.cell.ref; }
  get parent(): ActorRef | undefined { return this.cell.parent?.ref; }
  get sender(): ActorRef | undefined { return this.meta?.sender; }
  get correlationId(): string | undefined { return this.meta?.correlationId; }
  get node(): string { return this.cell.host.id; }
  get expectsReply(): boolean { return this.meta?.replyTo !== undefined; }
  get timers(): Timers { return this.cell.timersOf(this.inc); }

  get log(): Logger {
    if (this._log) return this._log;
    const cid = this.meta?.correlationId;
    return (this._log = cid === undefined ? this.cell.log : this.cell.log.child({ correlationId: cid }));
  }

  spawn<S2, M2>(spec: ActorSpec<S2, M2>): ActorRef<M2> {
    return this.cell.spawnChild(resolveSpec(spec)).ref as ActorRef<M2>;
  }

  tell<M2>(ref: ActorRef<M2> | string, message: M2, options?: TellOptions): void {
    const o: TellOptions = { sender: options?.sender ?? this.cell.ref };
    const correlationId = options?.correlationId ?? this.meta?.correlationId;
    if (correlationId !== undefined) o.correlationId = correlationId;
    this.cell.host.tell(ref, message, o);
  }

  ask<R = unknown, M2 = unknown>(ref: ActorRef<M2> | string, message: M2, options?: AskOptions): Promise<R> {
    return this.cell.host.ask<R>(ref, message, {
      ...options,
      correlationId: options?.correlationId ?? this.meta?.correlationId,
    });
  }

  reply(value: unknown): void {
    const meta = this.meta;
    const r = meta?.replyTo;
    if (r) {
      meta!.answered = true;
      r.reply(value);
    } else {
      this.log.debug('reply with no asker; dropped');
    }
  }

  replyError(error: unknown): void {
    const meta = this.meta;
    if (meta?.replyTo) {
      meta.answered = true;
      meta.replyTo.error(error);
    }
  }

  replier(): { reply(value: unknown): void; error(e: unknown): void } {
    const meta = this.meta;
    const r = meta?.replyTo;
    return {
      reply: (v) => { if (r) { meta!.answered = true; r.reply(v); } },
      error: (e) => { if (r) { meta!.answered = true; r.error(e); } },
    };
  }

  watch(ref: ActorRef | string): void {
    this.cell.host.watch(this.cell, ref);
  }

  unwatch(ref: ActorRef | string): void {
    this.cell.host.unwatch(this.cell, ref);
  }

  stop(): void {
    this.cell.requestStop();
  }

  persist(event: unknown): Promise<void> {
    return this.cell.persist(event, this.meta);
  }

  pipeToSelf<T>(promise: PromiseLike<T>, onOk: (value: T) => unknown, onErr?: (error: unknown) => unknown): void {
    pipeToSelf(this.cell, this.inc, promise, onOk, onErr);
  }
}
