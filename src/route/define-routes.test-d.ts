import { describe, expectTypeOf, it } from 'vitest';
import { defineRoutes, type DestinationRef, type RoutesConfig } from './define-routes.js';

describe('defineRoutes', () => {
  it('returns its input, typed with the declared profile, topic and webhook names', () => {
    const config = defineRoutes({
      profiles: { default: {}, india: { sentTimeZone: 'Asia/Kolkata' } },
      kafka: { topics: { events: 'kaleyra.sms.events', failures: { name: 'kaleyra.sms.failures' } } },
      webhooks: { crm: { url: 'https://crm.example/sms' } },
      rules: [
        { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
        { name: 'failures', match: { status: ['undelivered', 'failed'] }, to: ['kafka:failures', 'webhook:crm'] },
        { name: 'drop', to: [], stop: true },
      ],
      fallback: ['kafka:events'],
    });
    expectTypeOf(config).toEqualTypeOf<RoutesConfig<'default' | 'india', 'events' | 'failures', 'crm'>>();
    expectTypeOf(config.profiles).toHaveProperty('india');
    expectTypeOf(config.rules[0]!.to).toEqualTypeOf<readonly ('kafka:events' | 'kafka:failures' | 'webhook:crm')[]>();
    expectTypeOf(config.fallback).toEqualTypeOf<
      readonly ('kafka:events' | 'kafka:failures' | 'webhook:crm')[] | undefined
    >();
  });

  it('is assignable to the untyped RoutesConfig that compileRoutes takes', () => {
    const config = defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      rules: [{ name: 'all', to: ['kafka:events'] }],
    });
    expectTypeOf(config).toExtend<RoutesConfig>();
  });

  it('accepts a config with only webhooks', () => {
    const config = defineRoutes({
      profiles: { default: {} },
      webhooks: { crm: { url: 'https://crm.example/sms' } },
      rules: [{ name: 'all', to: ['webhook:crm'] }],
      fallback: ['webhook:crm'],
    });
    expectTypeOf(config).toEqualTypeOf<RoutesConfig<'default', never, 'crm'>>();
  });

  it('rejects a rule naming an undeclared webhook', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      webhooks: { crm: { url: 'https://crm.example/sms' } },
      rules: [
        {
          name: 'ops',
          to: [
            'kafka:events',
            // @ts-expect-error "ops" is not a declared webhook
            'webhook:ops',
          ],
        },
      ],
    });
  });

  it('rejects a rule naming an undeclared Kafka topic', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      rules: [
        {
          name: 'audit',
          to: [
            // @ts-expect-error "audit" is not a declared topic
            'kafka:audit',
          ],
        },
      ],
    });
  });

  it('rejects a webhook ref when no webhooks are declared at all', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      rules: [
        {
          name: 'crm',
          to: [
            // @ts-expect-error there are no webhooks
            'webhook:crm',
          ],
        },
      ],
    });
  });

  it('rejects a topic alias used as a webhook name, and the other way round', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      webhooks: { crm: { url: 'https://crm.example/sms' } },
      rules: [
        {
          name: 'swapped',
          to: [
            // @ts-expect-error "events" is a topic, not a webhook
            'webhook:events',
            // @ts-expect-error "crm" is a webhook, not a topic
            'kafka:crm',
          ],
        },
      ],
    });
  });

  it('rejects a ref without a kind', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      rules: [
        {
          name: 'bare',
          to: [
            // @ts-expect-error a ref is "kafka:<alias>" or "webhook:<name>"
            'events',
          ],
        },
      ],
    });
  });

  it('rejects a fallback naming an undeclared destination', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      rules: [{ name: 'all', to: ['kafka:events'] }],
      fallback: [
        // @ts-expect-error "unrouted" is not a declared topic
        'kafka:unrouted',
      ],
    });
  });

  it('rejects an unknown match key', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: 'e' } },
      rules: [
        {
          name: 'by-country',
          match: {
            // @ts-expect-error the key is iso_code
            country: 'IN',
          },
          to: ['kafka:events'],
        },
      ],
    });
  });

  it('rejects a webhook without a url', () => {
    defineRoutes({
      profiles: { default: {} },
      webhooks: {
        // @ts-expect-error url is required
        crm: { secret: 'whsec_x' },
      },
      rules: [{ name: 'all', to: ['webhook:crm'] }],
    });
  });
});

describe('DestinationRef', () => {
  it('is "kafka:<topic>" or "webhook:<name>"', () => {
    expectTypeOf<DestinationRef<'events', 'crm'>>().toEqualTypeOf<'kafka:events' | 'webhook:crm'>();
    expectTypeOf<DestinationRef<'events', never>>().toEqualTypeOf<'kafka:events'>();
  });
});

describe('the alerts section', () => {
  it('takes a URL and durations with units, and rejects a duration without one', () => {
    defineRoutes({
      profiles: { default: {} },
      rules: [],
      alerts: { url: 'https://oncall.example/kcr', secret: 'whsec_x', oldestPending: '15m', checkEvery: 10_000, repeatAfter: '1m' },
    });
    defineRoutes({
      profiles: { default: {} },
      rules: [],
      // @ts-expect-error '15 minutes' is not a Duration
      alerts: { url: 'https://oncall.example/kcr', oldestPending: '15 minutes' },
    });
  });
});

describe('a destination rate limit', () => {
  it('is accepted on a webhook and a topic, and a misspelt field is a compile error', () => {
    defineRoutes({
      profiles: { default: {} },
      kafka: { topics: { events: { name: 'kaleyra.sms.events', rateLimit: { perSecond: 500 } } } },
      webhooks: { crm: { url: 'https://crm.example/sms', rateLimit: { perSecond: 20, burst: 5 } } },
      rules: [{ name: 'all', to: ['kafka:events', 'webhook:crm'] }],
    });
    defineRoutes({
      profiles: { default: {} },
      // @ts-expect-error perMinute is not a rate-limit field
      webhooks: { crm: { url: 'https://crm.example/sms', rateLimit: { perMinute: 20 } } },
      rules: [],
    });
  });
});
