/**
 * The routes every replica of the cluster drill runs: each report, stale ones included (the drill
 * checks the stale flag), to one Kafka topic and one webhook. The drill sets the topic per run
 * (DRILL_TOPIC), so runs never read each other's records, and the URL of its receiver.
 */
import { defineRoutes } from '../src/route/define-routes.js';

const topic = process.env.DRILL_TOPIC;
const url = process.env.DRILL_WEBHOOK_URL;
if (!topic || !url) throw new Error('drill/routes.drill.ts is for `npm run drill -- cluster`, which sets DRILL_TOPIC and DRILL_WEBHOOK_URL');

export default defineRoutes({
  profiles: { default: {} },
  kafka: { topics: { events: { name: topic, partitions: 6 } } },
  // No secret: the drill's receiver identifies deliveries by webhook-id, it does not verify them.
  webhooks: { drill: { url, timeoutMs: 5_000, concurrency: 8 } },
  // Retries soon and never gives up within a drill: a delivery dead-lettered is a loss here.
  retry: { initialDelayMs: 100, maxDelayMs: 2_000, maxAttempts: 1_000 },
  rules: [{ name: 'everything', to: ['kafka:events', 'webhook:drill'] }],
});
