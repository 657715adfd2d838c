import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../retry/policy.js';
import { ConfigError } from '../errors.js';
import { compileRoutes, destinationRefs } from './compile.js';
import type { RoutesConfig } from './define-routes.js';

/** A valid config to break one field at a time. */
function base(): RoutesConfig {
  return {
    profiles: { default: {}, 'IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX': { sentTimeZone: 'Asia/Kolkata' } },
    kafka: { topics: { events: 'kaleyra.sms.events', failures: { name: 'kaleyra.sms.failures', partitions: 6 } } },
    webhooks: {
      alerts: { url: 'https://alerts.example/hooks/sms', secret: 'whsec_abc' },
      crm: { url: 'http://crm.example:8080/sms' },
    },
    rules: [
      { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed'] }, to: ['kafka:failures', 'webhook:alerts'] },
    ],
  };
}

/** The ConfigError compileRoutes throws for `input` (fails the test when it does not throw). */
function configError(input: unknown, source?: string): ConfigError {
  try {
    compileRoutes(input as RoutesConfig, source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected compileRoutes to throw a ConfigError');
}

describe('compileRoutes accepts a valid config', () => {
  it('maps topic aliases and webhooks to destination refs, in one map with their kind and config', () => {
    const cfg = compileRoutes(base());
    expect(destinationRefs(cfg)).toEqual(['kafka:events', 'kafka:failures', 'webhook:alerts', 'webhook:crm']);
    expect(destinationRefs(cfg, 'kafka')).toEqual(['kafka:events', 'kafka:failures']);
    expect(destinationRefs(cfg, 'webhook')).toEqual(['webhook:alerts', 'webhook:crm']);
    expect(cfg.destinations.get('kafka:events')).toEqual({
      kind: 'kafka',
      config: { name: 'kaleyra.sms.events', clientId: 'kaleyra-callback-router' },
      policy: DEFAULT_RETRY_POLICY,
    });
    expect(cfg.destinations.get('kafka:failures')?.config).toEqual({ name: 'kaleyra.sms.failures', partitions: 6, clientId: 'kaleyra-callback-router' });
    expect(cfg.destinations.get('webhook:alerts')).toEqual({
      kind: 'webhook',
      config: { url: 'https://alerts.example/hooks/sms', secret: 'whsec_abc' },
      policy: DEFAULT_RETRY_POLICY,
    });
  });

  it("resolves each destination's retry policy once: the shared policy, then its own overrides", () => {
    const cfg = compileRoutes({
      ...base(),
      kafka: { topics: { events: { name: 'kaleyra.sms.events', retry: { maxAttempts: 9 } }, failures: 'kaleyra.sms.failures' } },
      webhooks: { ...base().webhooks, crm: { url: 'http://crm.example:8080/sms', retry: { retryStatuses: [503], initialDelayMs: 5 } } },
      retry: { maxAttempts: 3, initialDelayMs: 50 },
    });
    expect(cfg.destinations.get('kafka:events')?.policy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 9, initialDelayMs: 50 });
    expect(cfg.destinations.get('kafka:failures')?.policy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3, initialDelayMs: 50 });
    expect(cfg.destinations.get('webhook:crm')?.policy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3, initialDelayMs: 5, retryStatuses: [503] });
  });

  it('keeps the profiles by name', () => {
    const cfg = compileRoutes(base());
    expect([...cfg.profiles.keys()]).toEqual(['default', 'IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX']);
    expect(cfg.profiles.get('IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX')).toMatchObject({
      name: 'IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX',
      config: { sentTimeZone: 'Asia/Kolkata' },
      methods: new Set(['GET', 'POST', 'PUT', 'DELETE']),
      tokenAuth: null,
      decrypt: null,
      fieldMap: null,
      finalAfterMs: null,
    });
  });

  it('compiles the rules in order, with their destinations and stop flags', () => {
    const { table } = compileRoutes(base());
    expect(table.rules.map((r) => ({ name: r.name, index: r.index, to: r.to, stop: r.stop }))).toEqual([
      { name: 'every-report', index: 0, to: ['kafka:events'], stop: false },
      { name: 'failures', index: 1, to: ['kafka:failures', 'webhook:alerts'], stop: false },
    ]);
    expect(table.fallback).toBeNull();
  });

  it('uses the default retry policy and client id unless told otherwise', () => {
    const cfg = compileRoutes(base());
    expect(cfg.retry).toEqual(DEFAULT_RETRY_POLICY);
    expect(cfg.destinations.get('kafka:events')?.config).toMatchObject({ clientId: 'kaleyra-callback-router' });
  });

  it('layers a config retry policy and client id over the defaults', () => {
    const cfg = compileRoutes({ ...base(), kafka: { ...base().kafka!, clientId: 'my-router' }, retry: { maxAttempts: 3 } });
    expect(cfg.retry).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3 });
    expect(destinationRefs(cfg, 'kafka').map((ref) => cfg.destinations.get(ref)?.config)).toEqual([
      { name: 'kaleyra.sms.events', clientId: 'my-router' },
      { name: 'kaleyra.sms.failures', partitions: 6, clientId: 'my-router' },
    ]);
  });

  it('accepts a config with neither Kafka nor webhooks when no rule names a destination', () => {
    const cfg = compileRoutes({ profiles: { default: {} }, rules: [{ name: 'drop-all', to: [], stop: true }] });
    expect(cfg.table.rules).toHaveLength(1);
    expect(destinationRefs(cfg)).toEqual([]);
  });

  describe('a webhook with `enabled: false`', () => {
    const cfg = compileRoutes({
      ...base(),
      webhooks: { ...base().webhooks, crm: { url: 'http://crm.example/sms', enabled: false } },
      rules: [
        { name: 'crm-only', to: ['webhook:crm'] },
        { name: 'both', to: ['webhook:crm', 'webhook:alerts'] },
      ],
      fallback: ['webhook:crm', 'kafka:events'],
    });

    it('is removed from the rules that name it, and a rule left with no destination is dropped', () => {
      expect(cfg.table.rules.map((r) => [r.name, r.to])).toEqual([['both', ['webhook:alerts']]]);
    });

    it('is removed from the fallback', () => {
      expect(cfg.table.fallback).toEqual(['kafka:events']);
    });

    it('is not a destination at all', () => {
      expect(cfg.destinations.has('webhook:crm')).toBe(false);
      expect(destinationRefs(cfg)).not.toContain('webhook:crm');
    });
  });
});

describe('compileRoutes rejects a bad config with a ConfigError naming the rule and the field', () => {
  it('an unknown webhook in `to` names the rule (by name and index), the field `to[1]` and the declared webhooks', () => {
    const input = base();
    const err = configError({
      ...input,
      rules: [...input.rules, { name: 'alert-ops', match: { iso_code: 'IN' }, to: ['kafka:events', 'webhook:ops'] }],
    });
    expect(err.message).toContain('routes.config.ts is invalid');
    expect(err.message).toContain('rule "alert-ops" (rules[2]), field "to[1]": unknown webhook "ops"');
    expect(err.message).toContain('(declared: webhook:alerts, webhook:crm)');
  });

  it('an unknown Kafka topic in `to` names the rule, the field and the declared topics', () => {
    const err = configError({ ...base(), rules: [{ name: 'audit', to: ['kafka:audit'] }] });
    expect(err.message).toContain('rule "audit" (rules[0]), field "to[0]": unknown Kafka topic "audit"');
    expect(err.message).toContain('(declared: kafka:events, kafka:failures)');
  });

  it('a ref that is neither kafka: nor webhook: says so', () => {
    const err = configError({ ...base(), rules: [{ name: 'typo', to: ['kakfa:events'] }] });
    expect(err.message).toContain('rule "typo" (rules[0]), field "to[0]": "kakfa:events" is not "kafka:<topic>" or "webhook:<name>"');
  });

  it('an unknown topic with no topics declared says "none"', () => {
    const err = configError({ profiles: { default: {} }, rules: [{ name: 'r', to: ['kafka:events'] }] });
    expect(err.message).toContain('(declared: none)');
  });

  it('a fallback naming an unknown destination names `fallback[i]`', () => {
    const err = configError({ ...base(), fallback: ['kafka:events', 'kafka:unrouted'] });
    expect(err.message).toContain('field "fallback[1]": unknown Kafka topic "unrouted" (declared: kafka:events, kafka:failures)');
  });

  it('a rule name used twice is an error on the second one', () => {
    const err = configError({
      ...base(),
      rules: [
        { name: 'events', to: ['kafka:events'] },
        { name: 'events', to: ['kafka:failures'] },
      ],
    });
    expect(err.message).toContain('rule "events" (rules[1]), field "name": the name is used twice');
  });

  it('an empty `to` without `stop: true` does nothing and is an error', () => {
    const err = configError({ ...base(), rules: [{ name: 'noop', to: [] }] });
    expect(err.message).toContain('rule "noop" (rules[0]), field "to"');
  });

  it('lists every problem, not just the first', () => {
    const err = configError({
      ...base(),
      rules: [
        { name: 'a', to: ['webhook:nope'] },
        { name: 'a', to: ['kafka:nope'] },
      ],
      fallback: ['webhook:gone'],
    });
    expect(err.message.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(4);
  });

  it('uses the source name it is given', () => {
    const err = configError({ ...base(), rules: [{ name: 'r', to: ['kafka:x'] }] }, '/etc/router/routes.config.ts');
    expect(err.message).toMatch(/^\/etc\/router\/routes\.config\.ts is invalid:/);
  });

  it.each([
    ['not a URL', 'crm.example/sms'],
    ['not http(s)', 'ftp://crm.example/sms'],
    ['empty', ''],
  ])('an invalid webhook URL (%s) names webhooks.<name>.url', (_what, url) => {
    const err = configError({ ...base(), webhooks: { ...base().webhooks, crm: { url } } });
    expect(err.message).toContain('field "webhooks.crm.url": must be an http(s) URL');
  });

  it('a profile with an unknown time zone names the profile and sentTimeZone', () => {
    const err = configError({ ...base(), profiles: { default: { sentTimeZone: 'Asia/Bangalore' } } });
    expect(err.message).toContain('profile "default", field "sentTimeZone": is not a known IANA time zone');
  });

  it('a profile name that is not URL-safe is an error naming the profile', () => {
    const err = configError({ ...base(), profiles: { 'my profile': {} } });
    expect(err.message).toContain('field "profiles.my profile"');
  });

  it('a profile name that is not URL-safe says what a profile name may contain', () => {
    const err = configError({ ...base(), profiles: { 'my profile': {} } });
    expect(err.message).toContain('profile names must be URL-safe');
  });

  it('an unknown key in a rule (strict) names the rule and the key', () => {
    const input = base();
    const err = configError({ ...input, rules: [input.rules[0], { name: 'typo', matches: { status: 'Failed' }, to: ['kafka:events'] }] });
    expect(err.message).toContain('rule "typo" (rules[1])');
    expect(err.message).toContain('"matches"');
  });

  it('an unknown key in a rule\'s match (strict) names the rule, `match` and the key', () => {
    const err = configError({ ...base(), rules: [{ name: 'by-country', match: { country: 'IN' }, to: ['kafka:events'] }] });
    expect(err.message).toContain('rule "by-country" (rules[0]), field "match"');
    expect(err.message).toContain('"country"');
  });

  it('an unknown top-level key (strict) is an error', () => {
    const err = configError({ ...base(), rule: [] });
    expect(err.message).toContain('"rule"');
  });

  it.each([
    ['an empty pattern', { status: '' }, 'field "match.status"'],
    ['an empty pattern list', { iso_code: [] }, 'field "match.iso_code"'],
    ['a non-boolean final', { final: 'yes' }, 'field "match.final"'],
  ])('%s in a rule names the rule and the field', (_what, match, field) => {
    const err = configError({ ...base(), rules: [{ name: 'bad-match', match, to: ['kafka:events'] }] });
    expect(err.message).toContain(`rule "bad-match" (rules[0]), ${field}`);
  });

  it('a rule without a name is "(unnamed)"', () => {
    const err = configError({ ...base(), rules: [{ to: ['kafka:events'] }] });
    expect(err.message).toContain('rule (unnamed) (rules[0]), field "name"');
  });

  it('an invalid Kafka topic name names the alias', () => {
    const err = configError({ ...base(), kafka: { topics: { events: 'kaleyra sms events' } } });
    expect(err.message).toContain('field "kafka.topics.events": is not a valid Kafka topic name');
  });

  it('an unknown retry option (strict) is an error', () => {
    const err = configError({ ...base(), retry: { maxRetries: 3 } });
    expect(err.message).toContain('field "retry"');
    expect(err.message).toContain('"maxRetries"');
  });
});

describe('profile options', () => {
  const SIGNING_KEY = 'a-signing-key-of-at-least-32-bytes!!';

  it('compiles methods, field map, finalAfter, encryption and token auth into the profile', () => {
    const cfg = compileRoutes({
      ...base(),
      profiles: {
        custom: {
          methods: ['GET', 'DELETE'],
          fieldMap: { message_id: 'msgid', status: 'data.st' },
          finalAfter: '72h',
          encryption: { algorithm: 'aes-256-gcm', key: 'k'.repeat(32) },
          tokenAuth: { issue: { clientId: 'kaleyra', clientSecret: 's3cret', signingKey: SIGNING_KEY } },
        },
      },
    });
    const p = cfg.profiles.get('custom')!;
    expect([...p.methods]).toEqual(['GET', 'DELETE']);
    expect(p.fieldMap).toEqual({ message_id: 'msgid', status: 'data.st' });
    expect(p.finalAfterMs).toBe(72 * 3_600_000);
    expect(p.decrypt).toBeTypeOf('function');
    expect(p.tokenAuth).not.toBeNull();
  });

  it.each<[string | number, number]>([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1.5h', 5_400_000],
    ['3d', 259_200_000],
    [60_000, 60_000],
  ])('finalAfter %j is %d ms', (finalAfter, ms) => {
    const cfg = compileRoutes({ ...base(), profiles: { p: { finalAfter: finalAfter as never } } });
    expect(cfg.profiles.get('p')!.finalAfterMs).toBe(ms);
  });

  it('a finalAfter that is not a duration names the profile and the field', () => {
    const err = configError({ ...base(), profiles: { p: { finalAfter: '3 days' } } });
    expect(err.message).toContain('profile "p", field "finalAfter": is not a duration');
  });

  it('a method Kaleyra does not use names the profile and the field', () => {
    const err = configError({ ...base(), profiles: { p: { methods: ['PATCH'] } } });
    expect(err.message).toContain('profile "p", field "methods.0"');
  });

  it('an unknown field-map key names the profile and the key', () => {
    const err = configError({ ...base(), profiles: { p: { fieldMap: { msgid: 'x' } } } });
    expect(err.message).toMatch(/profile "p", field "fieldMap.*msgid/);
  });

  it('an encryption key of the wrong length names the profile and says the length', () => {
    const err = configError({ ...base(), profiles: { p: { encryption: { algorithm: 'aes-256-gcm', key: 'short' } } } });
    expect(err.message).toContain('profile "p", field "encryption.key": must be 32 bytes for aes-256-gcm (got 5)');
  });

  it('token auth beside a static bearer token or basic auth is an error: both read Authorization', () => {
    const tokenAuth = { issue: { clientId: 'c', clientSecret: 's', signingKey: SIGNING_KEY } };
    expect(configError({ ...base(), profiles: { p: { tokenAuth, bearerToken: 't' } } }).message).toContain(
      'profile "p", field "tokenAuth": both it and bearerToken read the Authorization header',
    );
  });

  describe('a credential configured but empty (an unset environment variable) stops start-up', () => {
    const unset = process.env.KCR_TEST_CERTAINLY_UNSET;
    it.each<[string, Record<string, unknown>, string]>([
      ['bearerToken', { bearerToken: unset }, 'bearerToken'],
      ['a blank bearerToken', { bearerToken: '  ' }, 'bearerToken'],
      ['a header value', { headers: { 'x-api-key': unset } }, 'headers.x-api-key'],
      ['a basic password', { basicAuth: { username: 'kaleyra', password: unset } }, 'basicAuth.password'],
      ['a token client secret', { tokenAuth: { issue: { clientId: 'c', clientSecret: unset, signingKey: SIGNING_KEY } } }, 'tokenAuth.issue.clientSecret'],
      ['an encryption key', { encryption: { algorithm: 'aes-128-gcm', key: unset } }, 'encryption.key'],
    ])('%s', (_what, profile, field) => {
      const err = configError({ ...base(), profiles: { 'IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX': profile } });
      expect(err.message).toContain(
        `profile "IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX", field "${field}": is configured but empty (an unset environment variable?)`,
      );
    });

    it('says it once, not again in zod\'s words', () => {
      const err = configError({ ...base(), profiles: { p: { bearerToken: unset } } });
      expect(err.message.match(/bearerToken/g)).toHaveLength(1);
    });
  });
});

describe('a destination rate limit (`rateLimit`)', () => {
  it('is resolved with its default burst (one second) on webhooks and topics; absent means unlimited', () => {
    const input = base();
    input.webhooks!.crm = { url: 'http://crm.example:8080/sms', rateLimit: { perSecond: 20 } };
    input.kafka!.topics.failures = { name: 'kaleyra.sms.failures', rateLimit: { perSecond: 0.5, burst: 4 } };
    const cfg = compileRoutes(input);
    expect(cfg.destinations.get('webhook:crm')!.rateLimit).toEqual({ perSecond: 20, burst: 20 });
    expect(cfg.destinations.get('kafka:failures')!.rateLimit).toEqual({ perSecond: 0.5, burst: 4 });
    expect(cfg.destinations.get('webhook:alerts')!.rateLimit).toBeUndefined();
    expect(cfg.destinations.get('kafka:events')!.rateLimit).toBeUndefined();
  });

  it('a rate of 0 names the webhook and the field', () => {
    const input = base();
    input.webhooks!.crm = { url: 'http://crm.example:8080/sms', rateLimit: { perSecond: 0 } };
    expect(configError(input).message).toContain('field "webhooks.crm.rateLimit.perSecond": must be more than 0');
  });

  it('a fractional burst or an unknown key names the field', () => {
    const input = base();
    input.webhooks!.crm = { url: 'http://crm.example:8080/sms', rateLimit: { perSecond: 5, burst: 1.5 } };
    expect(configError(input).message).toContain('field "webhooks.crm.rateLimit.burst": must be a whole number of deliveries');
    const typo = base();
    typo.webhooks!.crm = { url: 'http://crm.example:8080/sms', rateLimit: { perSecond: 5, perMinute: 3 } as never };
    expect(configError(typo).message).toMatch(/webhooks\.crm\.rateLimit.*perMinute/);
  });

  it('a bad limit on a topic names the topic alias', () => {
    const input = base();
    input.kafka!.topics.failures = { name: 'kaleyra.sms.failures', rateLimit: { perSecond: -1 } };
    expect(configError(input).message).toMatch(/kafka\.topics\.failures/);
  });
});

describe('the operational alert webhook (`alerts`)', () => {
  it('is off when absent or switched off, and filled with its defaults when set', () => {
    expect(compileRoutes(base()).alerts).toBeNull();
    expect(compileRoutes({ ...base(), alerts: { url: 'https://oncall.example/kcr', enabled: false } }).alerts).toBeNull();
    expect(compileRoutes({ ...base(), alerts: { url: 'https://oncall.example/kcr', secret: 'whsec_abc' } }).alerts).toEqual({
      url: 'https://oncall.example/kcr',
      secret: 'whsec_abc',
      headers: {},
      timeoutMs: 5_000,
      oldestPendingMs: 15 * 60_000,
      checkEveryMs: 10_000,
      repeatAfterMs: 60_000,
    });
  });

  it('reads its durations with units', () => {
    const alerts = compileRoutes({ ...base(), alerts: { url: 'https://oncall.example/kcr', oldestPending: '2h', checkEvery: '30s', repeatAfter: '5m', timeoutMs: 1_000 } }).alerts;
    expect(alerts).toMatchObject({ oldestPendingMs: 7_200_000, checkEveryMs: 30_000, repeatAfterMs: 300_000, timeoutMs: 1_000 });
  });

  it('a bad URL, duration, empty secret or unknown key names the field', () => {
    const err = configError({ ...base(), alerts: { url: 'ftp://oncall.example', oldestPending: 'soon', secret: '', pager: true } });
    expect(err.message).toContain('field "alerts.url": must be an http(s) URL');
    expect(err.message).toContain('field "alerts.oldestPending": is not a duration');
    expect(err.message).toContain('field "alerts.secret": is empty (an unset environment variable?)');
    expect(err.message).toMatch(/field "alerts": .*pager/);
  });
});
