import type { Meta } from './meta.js';

/** A message with its metadata, as queued or stashed. */
export interface Delivery {
  message: unknown;
  meta: Meta | undefined;
}

const NO_DELIVERIES: readonly Delivery[] = Object.freeze([]);

/**
 * A cell's bounded mailbox: the queue of admitted messages the current incarnation has not
 * started, its fill level against the capacity, and the stash kept while there is no
 * incarnation (starting, restarting, backing off). The dispatcher only schedules turns; the
 * cell takes messages from here, so this, not nact, is what a restart redelivers and a stop
 * dead-letters.
 *
 * The queue is two parallel arrays and a head index: no allocation per message beyond the
 * array slots. `depth` counts user messages only (kernel messages bypass the capacity).
 */
export class Mailbox {
  /** User messages admitted and not started yet (the fill level checked against capacity). */
  depth = 0;
  private messages: unknown[] = [];
  private metas: Array<Meta | undefined> = [];
  private head = 0;
  /** Made by the first stashed message: most cells never stash one. */
  private stash: Delivery[] | undefined;

  constructor(readonly capacity: number) {}

  /** Queued plus stashed messages (for metrics and the actor tree). */
  get size(): number {
    return this.depth + (this.stash?.length ?? 0);
  }

  /** Messages queued for the current incarnation. */
  get length(): number {
    return this.messages.length - this.head;
  }

  get full(): boolean {
    return this.depth >= this.capacity;
  }

  get stashFull(): boolean {
    return (this.stash?.length ?? 0) >= this.capacity;
  }

  /** Queue an admitted message; `counted` is false for kernel messages. */
  push(message: unknown, meta: Meta | undefined, counted: boolean): void {
    if (counted) this.depth++;
    this.messages.push(message);
    this.metas.push(meta);
  }

  /** The oldest message (read it before `shift`). */
  peek(): unknown {
    return this.messages[this.head];
  }

  /** Take the oldest entry; returns its meta. */
  shift(): Meta | undefined {
    const i = this.head++;
    const meta = this.metas[i];
    this.messages[i] = undefined;
    this.metas[i] = undefined;
    if (this.head === this.messages.length) {
      this.messages.length = 0;
      this.metas.length = 0;
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.metas = this.metas.slice(this.head);
      this.head = 0;
    }
    return meta;
  }

  /** Keep a message while there is no incarnation to queue it for. */
  stashPush(message: unknown, meta: Meta | undefined): void {
    (this.stash ??= []).push({ message, meta });
  }

  /** Put deliveries back in front of the stash (what an ended incarnation had in hand or queued). */
  restash(front: Delivery[]): void {
    if (front.length === 0) return;
    this.stash = this.stash === undefined ? front : front.concat(this.stash);
  }

  /** Empty the stash, oldest first. */
  takeStash(): readonly Delivery[] {
    const s = this.stash;
    this.stash = undefined;
    return s ?? NO_DELIVERIES;
  }

  /** Everything still queued, oldest first; the queue is left empty and the depth zero. */
  drain(): Delivery[] {
    const out: Delivery[] = [];
    for (let i = this.head; i < this.messages.length; i++) out.push({ message: this.messages[i], meta: this.metas[i] });
    this.messages = [];
    this.metas = [];
    this.head = 0;
    this.depth = 0;
    return out;
  }
}
