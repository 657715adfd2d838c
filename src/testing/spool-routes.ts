/** The routes the spool's tests plan with: every report to Kafka; failures also to a second topic and a webhook. */
import type { DeliveryEvent } from '../event.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes, type RouteMatch } from '../route/match.js';

export const SPOOL_TEST_ROUTES = compileRoutes(
  {
    profiles: { default: {} },
    kafka: { topics: { events: 'kaleyra.sms.events', failures: 'kaleyra.sms.failures' } },
    webhooks: { crm: { url: 'http://127.0.0.1:9/hooks' } },
    rules: [
      { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures', 'webhook:crm'] },
    ],
  },
  'spool test config',
);

/**
 * The routing plan for an event under SPOOL_TEST_ROUTES.
 * @example new Spool({ path, plan: planSpoolTest })
 */
export function planSpoolTest(event: DeliveryEvent): RouteMatch {
  return matchRoutes(event, SPOOL_TEST_ROUTES.table);
}
