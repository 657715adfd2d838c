/**
 * Routing for the Kaleyra callback router. Point every Kaleyra callback profile at
 *   https://<router>/callbacks/<profile>
 * and declare the profile below. Rules run in order; an event goes to the destinations of
 * every rule it matches (fan-out) until a rule with `stop: true` matches.
 *
 * Without KAFKA_BROKERS the Kafka topics below are written to local files (data/sink/<topic>.jsonl).
 */
import { defineRoutes } from './src/route/define-routes.js';

export default defineRoutes({
  profiles: {
    // No auth: the profile the provider's samples use. Add `headers: { 'x-api-key': ... }`
    // (or basicAuth / bearerToken) to match the static headers set on a Kaleyra profile.
    default: {},
  },
  kafka: {
    topics: {
      events: 'kaleyra.sms.events',
      failures: 'kaleyra.sms.failures',
      unrouted: 'kaleyra.sms.unrouted',
    },
  },
  webhooks: {
    alerts: {
      url: process.env.ALERTS_WEBHOOK_URL ?? 'http://127.0.0.1:8090/hooks/sms',
      secret: process.env.ALERTS_WEBHOOK_SECRET,
      // Off until a URL is given, so a fresh `npm start` has nothing to retry.
      enabled: Boolean(process.env.ALERTS_WEBHOOK_URL),
    },
  },
  rules: [
    // A late "Sent" after "Delivered" is kept on disk but not published.
    { name: 'drop-stale', match: { stale: true }, to: [], stop: true },
    { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
    { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures'] },
    { name: 'india-failure-alerts', match: { status: ['!delivered', '!pending'], iso_code: 'IN', final: true }, to: ['webhook:alerts'] },
  ],
  fallback: ['kafka:unrouted'],
  // The on-call's webhook: a dead letter, a disabled destination, a circuit opening, a spool that
  // cannot commit (disk full), deliveries waiting longer than `oldestPending`. Off until
  // OPS_ALERTS_URL is set. Prometheus rules for the same conditions: deploy/prometheus/alerts.yml.
  alerts: {
    url: process.env.OPS_ALERTS_URL ?? 'http://127.0.0.1:8090/hooks/ops',
    secret: process.env.OPS_ALERTS_SECRET,
    oldestPending: '15m',
    enabled: Boolean(process.env.OPS_ALERTS_URL),
  },
});
