import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { TroupeError, type Clock } from '../../../protocol/index.js';
import { backoffMs, type PushOptions } from './options.js';
import type { PushEntry, PushOutbox } from './outbox.js';
import type { PushSigner } from './signer.js';
import { addressRefusal, guardedLookup, hostAllowed, parsePushUrl, type UrlPolicy } from './url-guard.js';

/** The header carrying a config's token (A2A spec). */
export const TOKEN_HEADER = 'X-A2A-Notification-Token';
/** The header carrying a notification's id: the same on every retry, so a receiver can drop repeats. */
export const ID_HEADER = 'X-Troupe-Notification-Id';

/** Bytes of a receiver's answer read at most (then the connection is dropped). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** How one attempt ended. */
type Outcome = { kind: 'delivered' } | { kind: 'retry'; why: string } | { kind: 'give-up'; code: 'TROUPE_ERR_A2A_PUSH_URL_REFUSED' | 'TROUPE_ERR_A2A_PUSH_DELIVERY_FAILED'; why: string };

/** Counters of the delivery loop (tests and logs read them). */
export interface PushStats {
  /** Attempts started. */
  attempted: number;
  delivered: number;
  failedAttempts: number;
  givenUp: number;
}

/**
 * The delivery loop of the push outbox: POSTs the head notification of each task's config
 * (in order, one at a time per config, `concurrency` at once), signed as the config asks, on
 * the node's clock: a failure (network error, timeout, 5xx, 408, 429) is retried after an
 * exponential backoff with jitter, committed with the entry, until `maxAttempts`; a 4xx or a
 * refused address gives up at once. Redirects are not followed. The connection goes to an
 * address the SSRF policy was checked against at connect time.
 *
 * @example
 * const delivery = new PushDelivery(outbox, options, host.clock, log, signer);
 * delivery.kick(); // after adding to the outbox
 */
export class PushDelivery {
  readonly stats: PushStats = { attempted: 0, delivered: 0, failedAttempts: 0, givenUp: 0 };
  private readonly inFlight = new Map<string, AbortController>();
  private readonly attempts = new Set<Promise<void>>();
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private readonly lookup;

  constructor(
    private readonly outbox: PushOutbox,
    private readonly options: PushOptions & UrlPolicy,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly signer: PushSigner,
    private readonly random: () => number = Math.random,
  ) {
    this.lookup = guardedLookup(options);
  }

  /** Look at the outbox now (something was added, or the node started). */
  kick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const { seq, entry } of this.outbox.heads()) {
      if (this.inFlight.has(entry.target)) continue;
      if (entry.nextAt > now) {
        earliest = Math.min(earliest, entry.nextAt);
        continue;
      }
      // at capacity: a finishing attempt kicks again
      if (this.inFlight.size >= this.options.concurrency) return;
      const abort = new AbortController();
      this.inFlight.set(entry.target, abort);
      this.stats.attempted++;
      const p = this.attempt(seq, entry, abort.signal).finally(() => {
        this.inFlight.delete(entry.target);
        this.attempts.delete(p);
        this.kick();
      });
      this.attempts.add(p);
    }
    if (earliest < this.timerAt) this.arm(earliest);
  }

  /** Stop: no new attempt; attempts in flight are aborted (their entries stay for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const a of this.inFlight.values()) a.abort();
    await Promise.allSettled([...this.attempts]);
  }

  private arm(at: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.max(0, Math.min(at - this.clock.now(), 2 ** 31 - 1)));
  }

  private async attempt(seq: number, entry: PushEntry, signal: AbortSignal): Promise<void> {
    const outcome = await this.post(entry, signal).catch((e: unknown): Outcome => ({ kind: 'retry', why: (e as Error)?.message ?? String(e) }));
    if (this.closed) return; // cut by the stop: the entry stays as it was
    try {
      if (outcome.kind === 'delivered') {
        this.stats.delivered++;
        await this.outbox.remove(seq);
        this.log.debug({ task: entry.taskId, agent: entry.agent, attempts: entry.attempts + 1 }, 'push notification delivered');
        return;
      }
      const attempts = entry.attempts + 1;
      this.stats.failedAttempts++;
      if (outcome.kind === 'give-up' || attempts >= this.options.maxAttempts) {
        this.stats.givenUp++;
        const code = outcome.kind === 'give-up' ? outcome.code : 'TROUPE_ERR_A2A_PUSH_DELIVERY_FAILED';
        await this.outbox.remove(seq);
        this.log.warn({ err: new TroupeError(code, outcome.why), code, task: entry.taskId, agent: entry.agent, attempts }, 'push notification given up');
        return;
      }
      const nextAt = this.clock.now() + backoffMs(attempts, this.options, this.random);
      await this.outbox.reschedule(seq, attempts, nextAt);
      this.log.info({ task: entry.taskId, agent: entry.agent, attempts, why: outcome.why, retryInMs: nextAt - this.clock.now() }, 'push notification failed; retrying');
    } catch (e) {
      this.log.warn({ err: e, task: entry.taskId }, 'push outbox write failed');
    }
  }

  /** The request's headers: content type, id, the config's token, and its authentication. */
  private async headers(entry: PushEntry): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      'content-type': entry.contentType,
      'content-length': String(Buffer.byteLength(entry.body)),
      [ID_HEADER]: entry.id,
      'user-agent': 'troupe-a2a-push',
    };
    if (entry.token) h[TOKEN_HEADER] = entry.token;
    const scheme = entry.scheme?.trim();
    if (scheme && entry.credentials) h.authorization = `${scheme} ${entry.credentials}`;
    else if (scheme && /^(bearer|jwt)$/i.test(scheme)) {
      // no credentials given: the node signs a JWT (verify with the keys at /.well-known/jwks.json)
      h.authorization = `Bearer ${await this.signer.sign({ url: entry.url, body: entry.body, taskId: entry.taskId, id: entry.id, ttlS: this.options.jwtTtlS, nowMs: this.clock.now() })}`;
    }
    return h;
  }

  private async post(entry: PushEntry, signal: AbortSignal): Promise<Outcome> {
    let url: URL;
    try {
      url = parsePushUrl(entry.url);
    } catch (e) {
      return { kind: 'give-up', code: 'TROUPE_ERR_A2A_PUSH_URL_REFUSED', why: (e as Error).message };
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // an IP literal is not looked up: it is checked here
    if (!hostAllowed(host, this.options)) {
      const why = /^[\d.]+$|:/.test(host) ? addressRefusal(host, this.options) : undefined;
      if (why) return { kind: 'give-up', code: 'TROUPE_ERR_A2A_PUSH_URL_REFUSED', why: `the push notification host is ${why}` };
    }
    const headers = await this.headers(entry);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const done = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const req = send(url, { method: 'POST', headers, lookup: this.lookup, signal, timeout: this.options.timeoutMs }, (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
        const status = res.statusCode ?? 0;
        res.resume();
        if (status >= 200 && status < 300) done({ kind: 'delivered' });
        else if (status >= 500 || status === 408 || status === 429) done({ kind: 'retry', why: `the receiver answered ${status}` });
        else done({ kind: 'give-up', code: 'TROUPE_ERR_A2A_PUSH_DELIVERY_FAILED', why: `the receiver refused it with ${status}` });
      });
      // the whole exchange is bounded on the node's clock, the rest of the answer after its
      // status too (a receiver that dribbles its body keeps no connection open past it); the
      // socket's idle time too
      const deadline = this.clock.setTimeout(() => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      req.on('close', () => this.clock.clearTimeout(deadline));
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      req.on('error', (e: Error & { code?: string }) => {
        if (e instanceof TroupeError && e.code === 'TROUPE_ERR_A2A_PUSH_URL_REFUSED') done({ kind: 'give-up', code: e.code, why: e.message });
        else done({ kind: 'retry', why: e.message });
      });
      req.end(entry.body);
    });
  }
}
