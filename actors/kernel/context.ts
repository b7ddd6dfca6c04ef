import type { Logger } from 'pino';
import type { ActorSpec, AskOptions, Context, TellOptions } from './behaviour.js';
import type { Cell } from './cell.js';
import type { Meta } from './meta.js';
import type { ActorRef } from './ref.js';

/** The context of one message (or of `initial`/a signal, with no meta). Cheap to allocate. */
export class MessageContext implements Context {
  private _log?: Logger;

  constructor(private readonly cell: Cell, private readonly meta: Meta | undefined) {}

  get self(): ActorRef { return this.cell.ref; }
  get parent(): ActorRef | undefined { return this.cell.parent?.ref; }
  get sender(): ActorRef | undefined { return this.meta?.sender; }
  get correlationId(): string | undefined { return this.meta?.correlationId; }
  get node(): string { return this.cell.host.id; }
  get expectsReply(): boolean { return this.meta?.replyTo !== undefined; }

  get log(): Logger {
    if (this._log) return this._log;
    const cid = this.meta?.correlationId;
    return (this._log = cid === undefined ? this.cell.log : this.cell.log.child({ correlationId: cid }));
  }

  spawn<S2, M2>(spec: ActorSpec<S2, M2>): ActorRef<M2> {
    return this.cell.spawnChild(spec).ref as ActorRef<M2>;
  }

  tell<M2>(ref: ActorRef<M2> | string, message: M2, options?: TellOptions): void {
    const o: TellOptions = { sender: options?.sender ?? this.cell.ref };
    const correlationId = options?.correlationId ?? this.meta?.correlationId;
    if (correlationId !== undefined) o.correlationId = correlationId;
    if (options?.trusted !== undefined) o.trusted = options.trusted;
    this.cell.host.context.tell(ref, message, o);
  }

  ask<R = unknown, M2 = unknown>(ref: ActorRef<M2> | string, message: M2, options?: AskOptions): Promise<R> {
    return this.cell.host.context.ask<R>(ref, message, {
      ...options,
      correlationId: options?.correlationId ?? this.meta?.correlationId,
    });
  }

  reply(value: unknown): void {
    const r = this.meta?.replyTo;
    if (r) r.reply(value);
    else this.log.debug('reply with no asker; dropped');
  }

  replyError(error: unknown): void {
    this.meta?.replyTo?.error(error);
  }

  replier(): { reply(value: unknown): void; error(e: unknown): void } {
    const r = this.meta?.replyTo;
    return { reply: (v) => r?.reply(v), error: (e) => r?.error(e) };
  }

  watch(ref: ActorRef | string): void {
    this.cell.host.context.watch(this.cell, ref);
  }

  unwatch(ref: ActorRef | string): void {
    this.cell.host.context.unwatch(this.cell, ref);
  }

  stop(): void {
    this.cell.requestStop();
  }

  persist(event: unknown): Promise<void> {
    return this.cell.persist(event, this.meta);
  }
}
