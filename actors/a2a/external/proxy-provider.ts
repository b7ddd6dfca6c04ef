import { randomUUID } from 'node:crypto';
import { Role, TaskState, type Message, type SendMessageRequest, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import { RequestMalformedError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import type { Logger } from 'pino';
import { TroupeError, isTroupeError, systemClock, type ChatMessage, type Clock, type ExternalAgentSpec, type ModelResult } from '../../../protocol/index.js';
import type { CompleteOptions, ModelProvider, ModelRequest } from '../../agent/index.js';
import type { PiiGuard } from '../../pii/index.js';
import type { NodeStore } from '../../../storage/index.js';
import type { ExternalAgentsOptions } from './options.js';
import { guardedFetch } from './outbound.js';
import { RemoteAnswer } from './remote-task.js';
import { cancelRemoteTask, type RemoteCancelOutcome, type RemoteTaskRef } from './remote-cancel.js';
import { RemoteThreads, messageText, type RemoteThread } from './threads.js';

/** What a proxy provider is made with. */
export interface ProxyProviderDeps {
  /** The proxy agent's name (the `from` of its PII decisions, the model id it answers as). */
  agent: string;
  spec: ExternalAgentSpec;
  options: ExternalAgentsOptions;
  logger: Logger;
  /** The node's PII guard (undefined: the node runs no pii module, and text goes out as it is). */
  pii: () => PiiGuard | undefined;
  /** The fetch under the outbound checks (tests). */
  fetch?: typeof fetch;
  /** Keeps the remote threads across restarts (the node's store; none: memory only). */
  store?: NodeStore;
  /** The node's clock (the age of stored threads). */
  now?: () => number;
  /** The clock of the call's time limit and the getTask polls (the node's; tests drive a ManualClock). */
  clock?: Clock;
}

/** The client tool an A2A task's run offers (actors/a2a/executor.ts): its call leaves the task waiting on the client. */
const INPUT_TOOL = 'request_input';
/** The most text of a remote question passed on (what the A2A executor keeps of it). */
const MAX_QUESTION = 4_000;

const TIMEOUT = Symbol('a2a-external.timeout');

/** The card URL of a spec's `url`: the URL itself when it names a JSON document, else the well-known card under it. */
export function cardUrlOf(url: string): string {
  return cardUrlsOf(url)[0]!;
}

/**
 * Where a spec's `url` may have its card, in order: the URL itself when it names a JSON
 * document; else the well-known card under it, then (a JSON-RPC endpoint's URL, whose
 * server keeps its card at the root) the well-known card of its origin.
 */
export function cardUrlsOf(url: string): string[] {
  const u = new URL(url);
  if (u.pathname.endsWith('.json')) return [u.toString()];
  const under = new URL(u);
  under.pathname = `${u.pathname.replace(/\/+$/, '')}/.well-known/agent-card.json`;
  const root = new URL('/.well-known/agent-card.json', u.origin).toString();
  return under.toString() === root ? [root] : [under.toString(), root];
}

/**
 * The model provider of a proxy agent: each model call is a message to the remote A2A server
 * through the official @a2a-js/sdk client (`ClientFactory`, JSON-RPC or REST as its card
 * offers, A2A 1.0 or 0.3). A streaming caller gets a streamed call (`sendMessageStream`) whose
 * text arrives as deltas; a stream that breaks before the task is final is resubscribed
 * (`resubscribeTask`, at most `maxResubscribes` times, then `getTask`), and only text not yet
 * delivered goes on. A follow-up in the same conversation continues the remote context, and
 * the remote task itself while it waits for input. What leaves for the remote server passes
 * the node's PII guard first (channel `a2a.external`).
 *
 * @example
 * registry.registerProviderKind('a2a', (spec) => new A2AProxyProvider({ agent: spec.name, spec: spec.a2a!, options, logger, pii: () => guard }));
 */
export class A2AProxyProvider implements ModelProvider {
  readonly name = 'a2a';
  readonly offline = false;
  readonly defaultModel: string;
  /** Where the remote agent lives, as logs and PII decisions name it (scheme, host, port; never path, query or headers). */
  readonly remote: string;
  private readonly cardUrls: string[];
  private readonly threads: RemoteThreads;
  private readonly factory: ClientFactory;
  private client: Promise<Client> | undefined;
  private readonly log: Logger;

  constructor(private readonly deps: ProxyProviderDeps) {
    this.cardUrls = cardUrlsOf(deps.spec.url);
    const u = new URL(this.cardUrls[0]!);
    this.remote = `a2a:${u.host}`;
    this.defaultModel = deps.agent;
    this.log = deps.logger.child({ agent: deps.agent, remote: this.remote });
    this.threads = new RemoteThreads(deps.options.maxThreads, deps.store ? { store: deps.store, agent: deps.agent, now: deps.now ?? Date.now, logger: this.log } : undefined);
    const fetchImpl = guardedFetch(deps.spec.headers, deps.options, deps.fetch ?? fetch);
    const legacyCompat = { enabled: true };
    this.factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl, legacyCompat }), new RestTransportFactory({ fetchImpl, legacyCompat })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl, legacyCompat }),
    }));
  }

  async complete(req: ModelRequest, opts: CompleteOptions = {}): Promise<ModelResult> {
    const { before, input } = splitTurn(req.messages);
    const raw = input.map(messageText).filter((t) => t !== '').join('\n\n');
    if (raw === '') throw new TroupeError('TROUPE_ERR_A2A_EXTERNAL_NO_INPUT', `external agent ${this.deps.agent} got no text to send`);
    const guard = this.deps.pii();
    const text = guard ? (await guard.share(raw, { from: this.deps.agent, to: this.remote, channel: 'a2a.external', external: true })).text : raw;
    let thread = this.threads.find(before);

    const ac = new AbortController();
    const onAbort = (): void => ac.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const limit = Math.min(this.deps.spec.timeoutMs, opts.timeoutMs ?? Number.POSITIVE_INFINITY);
    const clock = this.deps.clock ?? systemClock;
    const timer = clock.setTimeout(() => ac.abort(TIMEOUT), limit);
    const onDelta = opts.onDelta;
    let answer = new RemoteAnswer(onDelta ? (t) => onDelta({ type: 'content', text: t }) : undefined, thread?.open === true);
    // the context the remote task runs in: a cancel finds the task by it when no answer named the task yet
    let contextId = '';
    try {
      // the card read is shared by the callers: a caller's cancel or timeout ends its own wait for it
      const client = await untilAborted(this.connect(), ac.signal);
      for (;;) {
        try {
          const params: SendMessageRequest = { tenant: '', message: this.message(text, thread), configuration: undefined, metadata: undefined };
          contextId = params.message!.contextId;
          if (onDelta) await this.stream(client, params, answer, ac.signal);
          else {
            const r = await client.sendMessage(params, { signal: ac.signal });
            if (isTask(r)) answer.task(r, true);
            else answer.message(r);
          }
          break;
        } catch (e) {
          // the task or context the thread names is gone (finished meanwhile, or a remote that forgot): start anew, once
          const gone = e instanceof UnsupportedOperationError || e instanceof TaskNotFoundError;
          if (!gone || thread === undefined || answer.taskId !== '' || ac.signal.aborted) throw e;
          this.log.info({ err: e }, 'the remote thread of this conversation is gone; starting a new one');
          // a finished task leaves its context; a task the remote does not know, nothing
          thread = e instanceof TaskNotFoundError ? undefined : { ...thread, open: false };
          answer = new RemoteAnswer(onDelta ? (t) => onDelta({ type: 'content', text: t }) : undefined);
        }
      }
      if (!answer.final) await this.follow(client, answer, ac.signal, undefined);
    } catch (e) {
      if (ac.signal.aborted) throw this.aborted(ac.signal, answer, contextId, e);
      if (isTroupeError(e)) throw e;
      // the card may have moved or the server restarted: look it up again next time
      this.client = undefined;
      throw this.unreachable('the call failed', e);
    } finally {
      clock.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    // A remote task waiting on its client (input-required, auth-required) is our caller's to
    // answer when the caller can wait too (an A2A task offers request_input): the run ends in
    // that tool call, so our task waits the same way, and its follow-up goes to the remote task.
    const waiting = answer.state === TaskState.TASK_STATE_INPUT_REQUIRED || answer.state === TaskState.TASK_STATE_AUTH_REQUIRED;
    if (waiting && req.tools?.some((t) => t.name === INPUT_TOOL)) return this.askCaller(req, before, input, text, answer);
    answer.flushStatus();
    if (!answer.succeeded) {
      const state = TaskState[answer.state] ?? String(answer.state);
      throw new TroupeError('TROUPE_ERR_A2A_EXTERNAL_TASK_FAILED', `the remote task of external agent ${this.deps.agent} ended ${state}${answer.statusText ? `: ${answer.statusText.slice(0, 500)}` : ''}`, {
        details: { agent: this.deps.agent, state, taskId: answer.taskId },
      });
    }
    const content = onDelta ? answer.streamedText : answer.text;
    const next: RemoteThread = { contextId: answer.contextId, taskId: answer.taskId, open: answer.state === TaskState.TASK_STATE_INPUT_REQUIRED };
    if (next.contextId !== '') await this.threads.remember([...before, ...input, { role: 'assistant', content }], next);
    const prompt = Math.ceil(text.length / 4);
    const completion = Math.ceil(content.length / 4);
    return { content, toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }, model: req.model };
  }

  /** The run ends asking the caller (request_input); the thread stays open on the remote task. */
  private async askCaller(req: ModelRequest, before: ChatMessage[], input: ChatMessage[], text: string, answer: RemoteAnswer): Promise<ModelResult> {
    const auth = answer.state === TaskState.TASK_STATE_AUTH_REQUIRED;
    const question = (answer.statusText || (auth ? 'the remote agent needs authorization' : 'the remote agent needs more input')).slice(0, MAX_QUESTION);
    // the caller's history will hold the question as the agent's message: the thread is found by it
    await this.threads.remember([...before, ...input, { role: 'assistant', content: question }], { contextId: answer.contextId, taskId: answer.taskId, open: true });
    const prompt = Math.ceil(text.length / 4);
    return {
      content: null,
      toolCalls: [{ id: `call_${answer.taskId.slice(0, 64) || randomUUID()}`, name: INPUT_TOOL, arguments: JSON.stringify({ question, ...(auth ? { state: 'auth-required' } : {}) }) }],
      finishReason: 'tool_calls',
      usage: { prompt_tokens: prompt, completion_tokens: 1, total_tokens: prompt + 1 },
      model: req.model,
    };
  }

  private connect(): Promise<Client> {
    this.client ??= this.firstCard().catch((e: unknown) => {
      this.client = undefined;
      throw isTroupeError(e) ? e : this.unreachable('its agent card could not be read', e);
    });
    return this.client;
  }

  /** A client from the first of the card URLs that serves a card. */
  private async firstCard(): Promise<Client> {
    let last: unknown;
    for (const url of this.cardUrls) {
      try {
        return await this.factory.createFromUrl(url, '');
      } catch (e) {
        if (isTroupeError(e)) throw e;
        last = e;
      }
    }
    throw last;
  }

  private message(text: string, thread: RemoteThread | undefined): Message {
    return {
      messageId: randomUUID(), role: Role.ROLE_USER,
      // a new thread's context is named here: a blocking call cut before its answer can still find its task (ListTasks)
      contextId: thread?.contextId || randomUUID(),
      // a task waiting for input takes the message; a finished one is referenced by the new one
      taskId: thread?.open ? thread.taskId : '',
      referenceTaskIds: thread && !thread.open && thread.taskId ? [thread.taskId] : [],
      parts: [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }],
      extensions: [], metadata: undefined,
    };
  }

  /** A streamed call: the events as they come; a stream that breaks is followed up by {@link follow}. */
  private async stream(client: Client, params: SendMessageRequest, answer: RemoteAnswer, signal: AbortSignal): Promise<void> {
    try {
      for await (const ev of client.sendMessageStream(params, { signal })) answer.event(ev);
    } catch (e) {
      if (signal.aborted || answer.taskId === '') throw e;
      await this.follow(client, answer, signal, e);
    }
  }

  /**
   * The remote task is not final yet (a stream broke or ended early, a blocking send came
   * back while it works): resubscribe to it, up to `maxResubscribes` times; when the server
   * cannot be subscribed to (no streaming, no such method, the task not subscribable), or the
   * resubscriptions are spent, poll it with getTask, waiting `pollIntervalMs` doubling up to
   * `pollMaxIntervalMs` between reads, `maxPolls` reads at most.
   */
  private async follow(client: Client, answer: RemoteAnswer, signal: AbortSignal, broke: unknown): Promise<void> {
    let last = broke;
    const o = this.deps.options;
    for (let attempt = 1; !answer.final && attempt <= o.maxResubscribes; attempt++) {
      this.log.warn({ taskId: answer.taskId, attempt, err: last }, 'remote A2A stream ended before the task was final; resubscribing');
      try {
        for await (const ev of client.resubscribeTask({ tenant: '', id: answer.taskId }, { signal })) answer.event(ev);
      } catch (e) {
        if (signal.aborted) throw e;
        // finished meanwhile, or a server that does not resubscribe: read it instead
        if (e instanceof UnsupportedOperationError || e instanceof TaskNotFoundError || e instanceof RequestMalformedError || /-32601|not support|not found/i.test(String((e as Error)?.message))) break;
        last = e;
      }
    }
    let wait = o.pollIntervalMs;
    for (let poll = 1; !answer.final && poll <= o.maxPolls; poll++) {
      answer.task(await client.getTask({ tenant: '', id: answer.taskId, historyLength: 0 }, { signal }), true);
      if (answer.final || poll === o.maxPolls) break;
      this.log.debug({ taskId: answer.taskId, poll, waitMs: wait }, 'remote A2A task still working; polling it');
      await this.sleep(wait, signal);
      wait = Math.min(o.pollMaxIntervalMs, wait * 2);
    }
    if (!answer.final) throw this.unreachable(`its task ${answer.taskId.slice(0, 64)} was still not final after ${o.maxPolls} reads`, last);
  }

  /** A wait on the node's clock that a cancel or the call's timeout cuts short. */
  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    const clock = this.deps.clock ?? systemClock;
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        clock.clearTimeout(handle);
        reject(signal.reason);
      };
      const handle = clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private aborted(signal: AbortSignal, answer: RemoteAnswer, contextId: string, cause: unknown): TroupeError {
    if (!answer.terminal && (answer.taskId !== '' || contextId !== '')) {
      // the caller gave up (its task canceled, the caller gone, the time up): so does the remote task
      const ref: RemoteTaskRef = answer.taskId !== '' ? { taskId: answer.taskId } : { contextId };
      void this.cancelRemote(ref, signal.reason === TIMEOUT ? 'the call timed out' : 'the call was cancelled');
    }
    if (signal.reason === TIMEOUT) {
      return new TroupeError('TROUPE_ERR_MODEL_TIMEOUT', `external agent ${this.deps.agent}: ${this.remote} did not answer within ${this.deps.spec.timeoutMs}ms`, { cause });
    }
    return new TroupeError('TROUPE_ERR_AGENT_CANCELLED', `external agent ${this.deps.agent}: the call was cancelled`, { cause });
  }

  /**
   * Our A2A task of this agent was canceled: a remote task it waits on (input-required or
   * auth-required, the conversation's open thread) is canceled too. A running one was
   * canceled already, when the cancel aborted its call.
   *
   * @example
   * await provider.taskCanceled(task.history.map((m) => ({ role: m.role === Role.ROLE_AGENT ? 'assistant' : 'user', content: textOf(m) })));
   */
  async taskCanceled(conversation: ChatMessage[]): Promise<RemoteCancelOutcome | undefined> {
    const thread = this.threads.find(conversation);
    if (!thread?.open || thread.taskId === '') return undefined;
    // the conversation is over: its next message (if any) starts anew, referencing the task
    await this.threads.remember(conversation, { ...thread, open: false });
    return this.cancelRemote({ taskId: thread.taskId }, 'its proxy agent\'s A2A task was canceled');
  }

  /** Cancel a remote task, bounded by `cancelTimeoutMs` on the node's clock; the outcome is logged (and returned). */
  private async cancelRemote(ref: RemoteTaskRef, why: string): Promise<RemoteCancelOutcome> {
    let client: Client;
    try {
      client = await this.connect();
    } catch (e) {
      this.log.warn({ err: e, why, ...ref }, 'remote A2A task cancel failed: no connection to the remote server');
      return { outcome: 'failed', error: 'no connection' };
    }
    return cancelRemoteTask(client, ref, { clock: this.deps.clock ?? systemClock, timeoutMs: this.deps.options.cancelTimeoutMs, log: this.log, why });
  }

  private unreachable(what: string, cause: unknown): TroupeError {
    const why = cause instanceof Error ? cause.message.slice(0, 300) : '';
    return new TroupeError('TROUPE_ERR_A2A_EXTERNAL_UNREACHABLE', `external agent ${this.deps.agent} at ${this.remote}: ${what}${why ? ` (${why})` : ''}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { agent: this.deps.agent },
    });
  }
}

/** `p`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** A blocking send's result is a task, or a direct message. */
function isTask(r: Message | Task): r is Task {
  return 'status' in r && 'artifacts' in r;
}

/**
 * A conversation's turn: what came before (up to the last assistant message) and the new
 * input after it (user and tool messages; system and developer ones stay with the proxy).
 */
function splitTurn(messages: ReadonlyArray<ChatMessage>): { before: ChatMessage[]; input: ChatMessage[] } {
  let i = messages.length - 1;
  while (i >= 0 && messages[i]!.role !== 'assistant') i--;
  const before = messages.slice(0, i + 1);
  const input = messages.slice(i + 1).filter((m) => m.role === 'user' || m.role === 'tool');
  return { before, input };
}
