import { Counter, Gauge, Registry } from 'prom-client';
import type { PushService } from './service.js';

/**
 * Prometheus series of push notification delivery (the a2a module's own registry, appended
 * to `GET /metrics`), read from the delivery loop's counters at scrape time.
 *
 * @example
 * const metrics = pushMetrics(push);
 * await metrics.metrics(); // "# HELP troupe_a2a_push_delivered_total ..."
 */
export function pushMetrics(push: PushService): Registry {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string, read: () => number): void => {
    let last = 0;
    new Counter({ name, help, registers, collect() {
      const now = read();
      if (now > last) this.inc(now - last);
      last = now;
    } });
  };
  counter('troupe_a2a_push_attempts_total', 'push notification delivery attempts started', () => push.stats().attempted);
  counter('troupe_a2a_push_delivered_total', 'push notifications delivered (a 2xx answer)', () => push.stats().delivered);
  counter('troupe_a2a_push_failed_attempts_total', 'push notification attempts that failed (network, timeout, non-2xx, refused address)', () => push.stats().failedAttempts);
  counter('troupe_a2a_push_given_up_total', 'push notifications given up (maxAttempts, a 4xx, a refused address)', () => push.stats().givenUp);
  new Gauge({ name: 'troupe_a2a_push_pending', help: 'push notifications waiting in the durable outbox', registers, collect() {
    this.set(push.stats().pending);
  } });
  return registry;
}
