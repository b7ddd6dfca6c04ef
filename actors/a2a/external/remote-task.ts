import { TaskState, type Message, type Part, type StreamResponse, type Task } from '@a2a-js/sdk';

/** The most text kept of a remote answer (characters); past it the rest is dropped. */
export const MAX_ANSWER_CHARS = 4_000_000;
/** Artifacts of a remote answer kept at most; the text of further ones is dropped. */
export const MAX_ARTIFACTS = 256;

const partsText = (parts: ReadonlyArray<Part> | undefined): string =>
  (parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : p.content?.$case === 'data' ? JSON.stringify(p.content.value) : '')).join('');

/** States after which the remote task takes no more messages. */
const TERMINAL = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);

/** A state the remote task can stay in, waiting on the client: no stream goes on past it. */
const INTERRUPTED = new Set([TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED]);

/**
 * What the proxy knows of one remote answer, built from whatever the remote server sends:
 * a direct message, task snapshots (a blocking send's result, the first event of a
 * (re)subscription, getTask) and stream events. Text streams out through `onText` exactly
 * once: a snapshot after a dropped stream only adds what the stream had not delivered yet.
 *
 * @example
 * const r = new RemoteAnswer((t) => onDelta({ type: 'content', text: t }));
 * for await (const ev of client.sendMessageStream(params)) r.event(ev);
 * r.final; // true once completed, failed, canceled, rejected or waiting for input
 */
export class RemoteAnswer {
  taskId = '';
  contextId = '';
  state: TaskState = TaskState.TASK_STATE_UNSPECIFIED;
  /** A direct message answered (no task). */
  private direct = false;
  /** The latest status message's text (the question of input-required, the reason of a failure). */
  statusText = '';
  /** Text per artifact id, in the order artifacts first appeared. */
  private readonly artifacts = new Map<string, string>();
  /** All text handed to onText so far. */
  private streamed = '';

  /**
   * `resuming`: the message answers a task that waited for input. Its first events repeat
   * the task as it was (still input-required); until the remote reports a new status, such
   * a snapshot from a stream does not end the turn.
   */
  constructor(private readonly onText?: (text: string) => void, private resuming = false) {}

  /** The remote task finished, or waits for the client: nothing more comes on this turn. */
  get final(): boolean {
    return this.direct || TERMINAL.has(this.state) || INTERRUPTED.has(this.state);
  }

  get terminal(): boolean {
    return this.direct || TERMINAL.has(this.state);
  }

  get succeeded(): boolean {
    return this.direct || this.state === TaskState.TASK_STATE_COMPLETED || this.state === TaskState.TASK_STATE_INPUT_REQUIRED;
  }

  /** The answer: the artifacts' text, else the status message's (a question, a direct reply). */
  get text(): string {
    const art = [...this.artifacts.values()].join('');
    return art !== '' ? art : this.statusText;
  }

  /** What was streamed out, which is the answer a streaming caller saw. */
  get streamedText(): string {
    return this.streamed;
  }

  event(ev: StreamResponse): void {
    const p = ev.payload;
    if (!p) return;
    switch (p.$case) {
      case 'task':
        this.task(p.value);
        return;
      case 'message':
        this.message(p.value);
        return;
      case 'statusUpdate': {
        const u = p.value;
        this.resuming = false;
        this.ids(u.taskId, u.contextId);
        if (u.status) this.status(u.status.state, u.status.message);
        return;
      }
      case 'artifactUpdate': {
        const u = p.value;
        this.ids(u.taskId, u.contextId);
        if (!u.artifact) return;
        const chunk = partsText(u.artifact.parts);
        const before = this.artifacts.get(u.artifact.artifactId) ?? '';
        this.setArtifact(u.artifact.artifactId, u.append ? before + chunk : chunk);
        return;
      }
    }
  }

  /**
   * A task snapshot: the first event of a stream or (re)subscription, or, `authoritative`,
   * the result of a blocking send or of getTask.
   */
  task(t: Task, authoritative = false): void {
    this.ids(t.id, t.contextId);
    if (authoritative) this.resuming = false;
    for (const a of t.artifacts) this.setArtifact(a.artifactId, partsText(a.parts));
    if (!t.status) return;
    const stale = this.resuming && INTERRUPTED.has(t.status.state);
    this.status(stale ? TaskState.TASK_STATE_WORKING : t.status.state, stale ? undefined : t.status.message);
  }

  /** A direct reply, with no task. */
  message(m: Message): void {
    this.ids(m.taskId, m.contextId);
    this.direct = true;
    this.statusText = partsText(m.parts).slice(0, MAX_ANSWER_CHARS);
    this.flushStatus();
  }

  /** At the end of a turn: a streaming caller that saw no artifact text sees the status text (a question, a direct reply). */
  flushStatus(): void {
    if (this.streamed === '' && this.artifacts.size === 0 && this.statusText !== '') this.out(this.statusText);
  }

  private ids(taskId: string, contextId: string): void {
    if (taskId) this.taskId = taskId;
    if (contextId) this.contextId = contextId;
  }

  private status(state: TaskState, message: Message | undefined): void {
    // a late non-final status after a final one (a stale snapshot) does not reopen the turn
    if (this.final && !this.final_(state)) return;
    this.state = state;
    const t = message ? partsText(message.parts) : '';
    if (t !== '') this.statusText = t.slice(0, MAX_ANSWER_CHARS);
  }

  private final_(s: TaskState): boolean {
    return TERMINAL.has(s) || INTERRUPTED.has(s);
  }

  /**
   * An artifact's text is now `text`: what extends what was streamed of it goes out; a
   * replacement that does not extend it is kept for the answer but cannot be unsaid.
   */
  private setArtifact(id: string, text: string): void {
    // a remote that names ever new artifacts gets no further entries
    if (!this.artifacts.has(id) && this.artifacts.size >= MAX_ARTIFACTS) return;
    const before = this.artifacts.get(id) ?? '';
    // a snapshot behind what the stream delivered (a store the remote had not caught up with) adds nothing
    if (before.startsWith(text) && this.artifacts.has(id)) return;
    const room = MAX_ANSWER_CHARS - this.text.length + before.length;
    const next = text.slice(0, Math.max(0, room));
    this.artifacts.set(id, next);
    if (next.startsWith(before)) this.out(next.slice(before.length));
    else this.out(next);
  }

  private out(text: string): void {
    // replacements that cannot be unsaid add up: what goes out is bounded like the answer
    const room = MAX_ANSWER_CHARS - this.streamed.length;
    if (text === '' || room <= 0) return;
    if (text.length > room) text = text.slice(0, room);
    this.streamed += text;
    this.onText?.(text);
  }
}
