import type { Meta } from './meta.js';

/** A message with its metadata, as queued or stashed. */
export interface Delivery {
  message: unknown;
  meta: Meta | undefined;
}

/**
 * A cell's mailbox: admitted messages not started yet, in order. nact schedules the cell's
 * turns and the cell takes messages from here, so this, not nact's mailbox, is what a
 * restart redelivers and a stop dead-letters. Two parallel arrays and a head index: no
 * allocation per message beyond the array slots.
 */
export class DeliveryQueue {
  private messages: unknown[] = [];
  private metas: Array<Meta | undefined> = [];
  private head = 0;

  push(message: unknown, meta: Meta | undefined): void {
    this.messages.push(message);
    this.metas.push(meta);
  }

  get length(): number {
    return this.messages.length - this.head;
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

  /** Everything still queued, oldest first; the queue is left empty. */
  drain(): Delivery[] {
    const out: Delivery[] = [];
    for (let i = this.head; i < this.messages.length; i++) out.push({ message: this.messages[i], meta: this.metas[i] });
    this.messages = [];
    this.metas = [];
    this.head = 0;
    return out;
  }
}
