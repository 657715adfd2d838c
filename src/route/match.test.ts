import { describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { statusKey } from '../vocabulary/status.js';
import { postSample } from '../testing/samples.js';
import { compileRoutes } from './compile.js';
import type { RouteRule, RuleMatch } from './define-routes.js';
import { compileGlob, compilePatterns, foldExact, foldStatus, foldUpper, matchRoutes, type RouteTable } from './match.js';
import { eventFrom } from '../testing/events.js';
import { mulberry32 } from '../testing/random.js';

const INDIA_PROFILE = 'IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX';

/** A real event: the provider's POST sample with the case's changes, validated and enriched. */
function event(over: Record<string, unknown> = {}, profile = 'default'): DeliveryEvent {
  return eventFrom(postSample(over), { profile, eventId: '01900000-0000-7000-8000-000000000001', receivedAt: new Date('2022-04-05T08:56:00.000Z') });
}

/** The same event, seen after a newer status for its message. */
function stale(e: DeliveryEvent): DeliveryEvent {
  return { ...e, stale: true };
}

type Ref = 'kafka:events' | 'kafka:failures' | 'kafka:audit' | 'kafka:unrouted' | 'webhook:alerts' | 'webhook:crm' | 'webhook:off';

function table(rules: readonly RouteRule<Ref>[], fallback?: readonly Ref[]): RouteTable {
  return compileRoutes(
    {
      profiles: { default: {}, [INDIA_PROFILE]: {} },
      kafka: {
        topics: {
          events: 'kaleyra.sms.events',
          failures: 'kaleyra.sms.failures',
          audit: { name: 'kaleyra.sms.audit', partitions: 3 },
          unrouted: 'kaleyra.sms.unrouted',
        },
      },
      webhooks: {
        alerts: { url: 'https://alerts.example/hooks/sms' },
        crm: { url: 'http://crm.example/sms' },
        off: { url: 'https://off.example/sms', enabled: false },
      },
      rules,
      ...(fallback ? { fallback } : {}),
    },
    'match test config',
  ).table;
}

/** Whether a single rule with this `match` takes the event. */
function ruleTakes(match: RuleMatch, e: DeliveryEvent): boolean {
  return matchRoutes(e, table([{ name: 'only', match, to: ['kafka:events'] }])).rules.length === 1;
}

describe('matchRoutes over status x iso_code (the shipped routes.config.ts rules)', () => {
  const shipped = table(
    [
      { name: 'drop-stale', match: { stale: true }, to: [], stop: true },
      { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures'] },
      {
        name: 'india-failure-alerts',
        match: { status: ['!delivered', '!pending'], iso_code: 'IN', final: true },
        to: ['webhook:alerts'],
      },
    ],
    ['kafka:unrouted'],
  );
  const ALL_FAIL = ['kafka:events', 'kafka:failures', 'webhook:alerts'];
  const FAIL = ['kafka:events', 'kafka:failures'];
  const ONLY_EVENTS = ['kafka:events'];
  const ALERT = ['kafka:events', 'webhook:alerts'];

  it.each<[string, string | null, string | null, string[]]>([
    // status, status_trace, iso_code, destinations
    ['Undelivered', 'REJECTED-MULTIPART', 'IN', ALL_FAIL], // the provider's sample as is
    ['Undelivered', 'REJECTED-MULTIPART', 'in', ALL_FAIL],
    ['Undelivered', 'ABSENT-SUB', 'US', FAIL],
    ['Undelivered', 'ABSENT-SUB', null, FAIL],
    ['UNDELIV', null, 'IN', ALL_FAIL],
    ['EXPIRED', 'EXPIRED', 'IN', ALL_FAIL],
    ['Delivered', 'DELIVRD', 'IN', ONLY_EVENTS],
    ['DELIVRD', null, 'IN', ONLY_EVENTS],
    ['Delivered', 'DELIVRD', 'US', ONLY_EVENTS],
    ['Sent', null, 'IN', ONLY_EVENTS],
    ['Queued', 'QUEUED', 'IN', ONLY_EVENTS],
    ['AWAITED-DLR', null, 'IN', ONLY_EVENTS],
    ['Failed', 'NUM-LIMIT', 'IN', ALL_FAIL],
    ['Failed', 'MOB-NOTALLOWED', 'GB', FAIL],
    ['Not Sent', 'BLACKLIST', 'IN', ALL_FAIL],
    ['NOT-SENT', 'BLACKLIST', 'IN', ALL_FAIL],
    ['NotSent', 'SPAM', 'US', FAIL],
    ['not_sent', 'DND-NUMB', null, FAIL],
    // Unknown but final: not delivered, not pending, so an Indian one alerts; not a "failure".
    ['NO-DLR-OPTR', null, 'IN', ALERT],
    ['NO-DLR-OPTR', null, 'US', ONLY_EVENTS],
    // A new status with a new trace: unknown and not final, only the catch-all takes it.
    ['Brand-New-Status', 'BRAND-NEW-TRACE', 'IN', ONLY_EVENTS],
    // A new status with a known trace takes its class from the trace.
    ['Brand-New-Status', 'BLACKLIST', 'IN', ALL_FAIL],
  ])('%s (trace %s) in %s goes to %j', (status, trace, iso, destinations) => {
    const result = matchRoutes(event({ status, status_trace: trace, iso_code: iso }), shipped);
    expect(result).toEqual({ destinations, rules: expect.any(Array), fallback: false });
  });

  it('a stale report is dropped: no destination, no fallback', () => {
    expect(matchRoutes(stale(event({ status: 'Sent', status_trace: null })), shipped)).toEqual({
      destinations: [],
      rules: ['drop-stale'],
      fallback: false,
    });
  });

  it('names every rule that took the event, in order', () => {
    expect(matchRoutes(event(), shipped).rules).toEqual(['every-report', 'failures', 'india-failure-alerts']);
  });
});

describe('a single rule', () => {
  describe('status: raw Kaleyra word or class, spelled any way', () => {
    it.each<[string, string | readonly string[], string, string | null, boolean]>([
      // what, pattern, event status, event trace, takes it?
      ['raw "Not Sent" vs event "Not Sent"', 'Not Sent', 'Not Sent', 'BLACKLIST', true],
      ['raw "Not Sent" vs event "NOT-SENT"', 'Not Sent', 'NOT-SENT', 'BLACKLIST', true],
      ['raw "Not Sent" vs event "NotSent"', 'Not Sent', 'NotSent', 'BLACKLIST', true],
      ['raw "Not Sent" vs event "not_sent"', 'Not Sent', 'not_sent', 'BLACKLIST', true],
      ['raw "NOT-SENT" vs event "Not Sent"', 'NOT-SENT', 'Not Sent', 'BLACKLIST', true],
      ['raw "not_sent" vs event "NotSent"', 'not_sent', 'NotSent', 'BLACKLIST', true],
      ['raw "Not Sent" vs event "Undelivered"', 'Not Sent', 'Undelivered', 'REJECTED-MULTIPART', false],
      // A raw word matches the raw status, not the class another word maps to.
      ['raw "Not Sent" vs a new status classed rejected by its trace', 'Not Sent', 'Brand-New', 'BLACKLIST', false],
      ['class "rejected" vs event "Not Sent"', 'rejected', 'Not Sent', 'BLACKLIST', true],
      ['class "rejected" vs event "NOT-SENT"', 'rejected', 'NOT-SENT', null, true],
      ['class "rejected" vs a new status classed by its trace', 'rejected', 'Brand-New', 'BLACKLIST', true],
      ['class "undelivered" vs event "Undelivered"', 'undelivered', 'Undelivered', 'REJECTED-MULTIPART', true],
      ['class "undelivered" vs event "UNDELIV"', 'undelivered', 'UNDELIV', null, true],
      ['class "undelivered" vs event "EXPIRED"', 'undelivered', 'EXPIRED', null, true],
      ['class "undelivered" vs event "Delivered"', 'undelivered', 'Delivered', 'DELIVRD', false],
      ['class "delivered" vs event "DELIVRD"', 'delivered', 'DELIVRD', null, true],
      ['class "delivered" vs event "Undelivered" (whole word only)', 'delivered', 'Undelivered', null, false],
      ['class "pending" vs event "AWAITED-DLR"', 'pending', 'AWAITED-DLR', null, true],
      ['class "unknown" vs event "NO-DLR-OPTR"', 'unknown', 'NO-DLR-OPTR', null, true],
      ['case-insensitive class "UNDELIVERED"', 'UNDELIVERED', 'Undelivered', null, true],
      ['a list ["Delivered", "Failed"] vs "Failed"', ['Delivered', 'Failed'], 'Failed', 'NUM-LIMIT', true],
      ['a list ["Delivered", "Failed"] vs "Sent"', ['Delivered', 'Failed'], 'Sent', null, false],
      ['a list of classes ["undelivered", "failed", "rejected"] vs "Not Sent"', ['undelivered', 'failed', 'rejected'], 'Not Sent', null, true],
      ['negated class ["!delivered", "!pending"] vs "Undelivered"', ['!delivered', '!pending'], 'Undelivered', null, true],
      ['negated class ["!delivered", "!pending"] vs "Delivered"', ['!delivered', '!pending'], 'Delivered', null, false],
      ['negated class ["!delivered", "!pending"] vs "DELIVRD"', ['!delivered', '!pending'], 'DELIVRD', null, false],
      ['negated class ["!delivered", "!pending"] vs "Sent"', ['!delivered', '!pending'], 'Sent', null, false],
      ['negated class ["!delivered", "!pending"] vs "Queued"', ['!delivered', '!pending'], 'Queued', null, false],
      ['negated raw "!Not Sent" vs "NOT-SENT"', '!Not Sent', 'NOT-SENT', null, false],
      ['negated raw "!Not Sent" vs "Failed"', '!Not Sent', 'Failed', null, true],
      ['positive and negated ["*deliv*", "!delivered"] vs "Undelivered"', ['*deliv*', '!delivered'], 'Undelivered', null, true],
      ['positive and negated ["*deliv*", "!delivered"] vs "Delivered"', ['*deliv*', '!delivered'], 'Delivered', null, false],
      ['wildcard "*" vs a new status', '*', 'Brand-New', null, true],
      ['glob "NOT*" vs "Not Sent"', 'NOT*', 'Not Sent', null, true],
      ['glob "NOT*" vs "NotSent"', 'NOT*', 'NotSent', null, true],
      ['glob "NOT*" vs "NO-DLR-OPTR"', 'NOT*', 'NO-DLR-OPTR', null, false],
      ['glob "NOT*" vs "Undelivered"', 'NOT*', 'Undelivered', null, false],
      ['glob "*deliv*" vs "UNDELIV"', '*deliv*', 'UNDELIV', null, true],
      ['glob "*ED" vs "Delivered"', '*ED', 'Delivered', null, true],
      ['glob "*ED" vs "Sent"', '*ED', 'Sent', null, false],
    ])('%s: %j takes %s -> %s', (_what, pattern, status, trace, takes) => {
      expect(ruleTakes({ status: pattern }, event({ status, status_trace: trace }))).toBe(takes);
    });
  });

  describe('iso_code', () => {
    it.each<[string, string | readonly string[], string | null, boolean]>([
      ['exact', 'IN', 'IN', true],
      ['exact, event in lower case', 'IN', 'in', true],
      ['exact, pattern in lower case', 'in', 'IN', true],
      ['exact, other country', 'IN', 'US', false],
      ['exact, absent', 'IN', null, false],
      ['list', ['IN', 'US'], 'US', true],
      ['list, other country', ['IN', 'US'], 'GB', false],
      ['negation, same country', '!IN', 'IN', false],
      ['negation, other country', '!IN', 'US', true],
      ['negation, absent', '!IN', null, true],
      ['negated list, neither', ['!IN', '!US'], 'GB', true],
      ['negated list, one of them', ['!IN', '!US'], 'US', false],
      ['wildcard, present', '*', 'GB', true],
      ['wildcard, absent ("*" means any)', '*', null, true],
      ['glob, present', 'I*', 'IN', true],
      ['glob, other', 'I*', 'US', false],
      ['glob, absent', 'I*', null, false],
    ])('%s: %j vs %j -> %s', (_what, pattern, iso, takes) => {
      expect(ruleTakes({ iso_code: pattern }, event({ iso_code: iso }))).toBe(takes);
    });
  });

  describe('profile (exact, case-sensitive)', () => {
    it.each<[string | readonly string[], string, boolean]>([
      ['default', 'default', true],
      ['default', INDIA_PROFILE, false],
      ['Default', 'default', false],
      ['IN_*', INDIA_PROFILE, true],
      ['IN_*', 'default', false],
      ['in_*', INDIA_PROFILE, false],
      ['!IN_*', 'default', true],
      [['default', 'IN_*'], INDIA_PROFILE, true],
    ])('%j vs profile %s -> %s', (pattern, profile, takes) => {
      expect(ruleTakes({ profile: pattern }, event({}, profile))).toBe(takes);
    });
  });

  describe('route_type (Kaleyra `type`, case-insensitive)', () => {
    it.each<[string | readonly string[], string | null, boolean]>([
      ['DEFAULT', 'DEFAULT', true],
      ['OTP', 'otp', true],
      ['otp', 'OTP', true],
      ['OTP', 'TXN', false],
      [['TXN', 'OTP'], 'TXN', true],
      [['TXN', 'OTP'], 'DEFAULT', false],
      ['!MKT', 'MKT', false],
      ['!MKT', 'OTP', true],
      ['!MKT', null, true],
      ['OTP', null, false],
      ['*', null, true],
    ])('%j vs type %j -> %s', (pattern, type, takes) => {
      expect(ruleTakes({ route_type: pattern }, event({ type }))).toBe(takes);
    });
  });

  describe('status_trace (spelled any way)', () => {
    it.each<[string | readonly string[], string | null, boolean]>([
      ['REJECTED-MULTIPART', 'REJECTED-MULTIPART', true],
      ['rejected_multipart', 'REJECTED-MULTIPART', true],
      ['Rejected Multipart', 'REJECTED-MULTIPART', true],
      ['REJECTED-MULTIPART', 'REJECTED', false],
      ['REJECTED*', 'REJECTED-MULTIPART', true],
      ['REJECTED*', 'REJECTED', true],
      ['REJECTED*', 'OUTPUT-REJ', false],
      [['BLACKLIST', 'DND*'], 'DND-NUMB', true],
      [['BLACKLIST', 'DND*'], 'DNDNUMB', true],
      [['BLACKLIST', 'DND*'], 'CON-DND', false],
      ['BLACKLIST', null, false],
      ['!BLACKLIST', null, true],
      ['!BLACKLIST', 'BLACKLIST', false],
      ['*', null, true],
    ])('%j vs trace %j -> %s', (pattern, trace, takes) => {
      expect(ruleTakes({ status_trace: pattern }, event({ status_trace: trace }))).toBe(takes);
    });
  });

  describe('final and stale flags', () => {
    it.each<[string, RuleMatch, DeliveryEvent, boolean]>([
      ['final: true takes a final report', { final: true }, event({ status: 'Delivered' }), true],
      ['final: true skips an interim report', { final: true }, event({ status: 'Sent', status_trace: null }), false],
      ['final: false takes an interim report', { final: false }, event({ status: 'AWAITED-DLR', status_trace: null }), true],
      ['final: false skips a final report', { final: false }, event({ status: 'Failed' }), false],
      ['final: false takes an unknown, not-final report', { final: false }, event({ status: 'X', status_trace: 'Y' }), true],
      ['stale: true takes a stale report', { stale: true }, stale(event({ status: 'Sent' })), true],
      ['stale: true skips a fresh report', { stale: true }, event({ status: 'Sent' }), false],
      ['stale: false takes a fresh report', { stale: false }, event(), true],
      ['stale: false skips a stale report', { stale: false }, stale(event()), false],
    ])('%s', (_what, match, e, takes) => {
      expect(ruleTakes(match, e)).toBe(takes);
    });
  });

  describe('all conditions of a rule must hold', () => {
    const match: RuleMatch = { status: 'undelivered', iso_code: 'IN', route_type: 'DEFAULT', final: true, profile: 'default' };

    it.each<[string, Record<string, unknown>, string, boolean]>([
      ['every condition holds', {}, 'default', true],
      ['the status differs', { status: 'Delivered' }, 'default', false],
      ['the country differs', { iso_code: 'US' }, 'default', false],
      ['the route type differs', { type: 'OTP' }, 'default', false],
      ['the profile differs', {}, INDIA_PROFILE, false],
    ])('%s -> %s', (_what, over, profile, takes) => {
      expect(ruleTakes(match, event(over, profile))).toBe(takes);
    });
  });

  it('a rule without `match` takes every event', () => {
    const t = table([{ name: 'all', to: ['kafka:events'] }]);
    for (const e of [event(), event({ status: 'X', status_trace: null, iso_code: null }), stale(event())]) {
      expect(matchRoutes(e, t).destinations).toEqual(['kafka:events']);
    }
  });

  it('an empty `match` takes every event', () => {
    expect(ruleTakes({}, event({ status: 'Whatever' }))).toBe(true);
  });
});

describe('fan-out, stop, drop and fallback', () => {
  it('an event matching several rules gets every destination once, in rule order', () => {
    const t = table([
      { name: 'a', match: { status: '*' }, to: ['kafka:events', 'kafka:failures'] },
      { name: 'b', match: { iso_code: 'IN' }, to: ['kafka:failures', 'webhook:alerts'] },
      { name: 'not-me', match: { iso_code: 'US' }, to: ['webhook:crm'] },
      { name: 'c', match: { final: true }, to: ['kafka:audit', 'kafka:events'] },
    ]);
    expect(matchRoutes(event(), t)).toEqual({
      destinations: ['kafka:events', 'kafka:failures', 'webhook:alerts', 'kafka:audit'],
      rules: ['a', 'b', 'c'],
      fallback: false,
    });
  });

  it('a destination listed twice in one rule is sent to once', () => {
    const t = table([{ name: 'twice', to: ['kafka:events', 'kafka:events'] }]);
    expect(matchRoutes(event(), t).destinations).toEqual(['kafka:events']);
  });

  it('`stop: true` on a matching rule ends the matching; earlier destinations stay', () => {
    const t = table([
      { name: 'first', to: ['kafka:events'] },
      { name: 'stopper', match: { iso_code: 'IN' }, to: ['webhook:alerts'], stop: true },
      { name: 'never', to: ['kafka:audit'] },
    ]);
    expect(matchRoutes(event(), t)).toEqual({
      destinations: ['kafka:events', 'webhook:alerts'],
      rules: ['first', 'stopper'],
      fallback: false,
    });
  });

  it('`stop: true` on a rule that does not match stops nothing', () => {
    const t = table([
      { name: 'stopper', match: { iso_code: 'US' }, to: ['webhook:alerts'], stop: true },
      { name: 'next', to: ['kafka:audit'] },
    ]);
    expect(matchRoutes(event({ iso_code: 'IN' }), t)).toEqual({ destinations: ['kafka:audit'], rules: ['next'], fallback: false });
  });

  describe('a drop rule (`to: []` with stop)', () => {
    const t = table(
      [
        { name: 'drop-otp', match: { route_type: 'OTP' }, to: [], stop: true },
        { name: 'events', to: ['kafka:events'] },
      ],
      ['kafka:unrouted'],
    );

    it('drops what it matches: no destinations, and the fallback is not used', () => {
      expect(matchRoutes(event({ type: 'OTP' }), t)).toEqual({ destinations: [], rules: ['drop-otp'], fallback: false });
    });

    it('lets the rest through', () => {
      expect(matchRoutes(event({ type: 'TXN' }), t)).toEqual({
        destinations: ['kafka:events'],
        rules: ['events'],
        fallback: false,
      });
    });
  });

  describe('the fallback', () => {
    const rules: RouteRule<Ref>[] = [{ name: 'india', match: { iso_code: 'IN' }, to: ['kafka:events'] }];

    it('is used when no rule matches', () => {
      expect(matchRoutes(event({ iso_code: 'US' }), table(rules, ['kafka:unrouted', 'webhook:crm']))).toEqual({
        destinations: ['kafka:unrouted', 'webhook:crm'],
        rules: [],
        fallback: true,
      });
    });

    it('is not used when a rule matches', () => {
      expect(matchRoutes(event({ iso_code: 'IN' }), table(rules, ['kafka:unrouted']))).toEqual({
        destinations: ['kafka:events'],
        rules: ['india'],
        fallback: false,
      });
    });

    it('absent: an unmatched event has no destinations', () => {
      expect(matchRoutes(event({ iso_code: 'US' }), table(rules))).toEqual({ destinations: [], rules: [], fallback: false });
    });

    it('with no rules at all takes every event', () => {
      expect(matchRoutes(event(), table([], ['kafka:unrouted']))).toEqual({
        destinations: ['kafka:unrouted'],
        rules: [],
        fallback: true,
      });
    });

    it('is a copy: changing a result does not change the table', () => {
      const t = table(rules, ['kafka:unrouted']);
      matchRoutes(event({ iso_code: 'US' }), t).destinations.push('webhook:crm');
      expect(matchRoutes(event({ iso_code: 'US' }), t).destinations).toEqual(['kafka:unrouted']);
    });
  });

  describe('a disabled webhook (`enabled: false`)', () => {
    it('is left out of a rule\'s destinations, the rule still matches', () => {
      const t = table([{ name: 'with-off', to: ['webhook:off', 'kafka:events'] }]);
      expect(matchRoutes(event(), t)).toEqual({ destinations: ['kafka:events'], rules: ['with-off'], fallback: false });
    });

    it('drops a rule that named only disabled webhooks: the event reaches the fallback', () => {
      const t = table([{ name: 'only-off', to: ['webhook:off'], stop: true }], ['kafka:unrouted']);
      expect(matchRoutes(event(), t)).toEqual({ destinations: ['kafka:unrouted'], rules: [], fallback: true });
    });

    it('is left out of the fallback', () => {
      const t = table([], ['webhook:off', 'kafka:unrouted']);
      expect(matchRoutes(event(), t).destinations).toEqual(['kafka:unrouted']);
    });
  });
});

describe('compilePatterns', () => {
  it.each<[string, string | readonly string[], (v: string) => string, (string | null)[], boolean]>([
    ['a negated list, neither value', ['!IN', '!US'], foldUpper, ['GB'], true],
    ['a negated list, one value', ['!IN', '!US'], foldUpper, ['IN'], false],
    ['any of several values may match', 'rejected', foldStatus, ['Not Sent', 'rejected'], true],
    ['a negation excludes when any value matches', '!pending', foldStatus, ['Sent', 'pending'], false],
    ['"*" matches an absent value', '*', foldUpper, [null], true],
    ['"*" matches no values at all', '*', foldUpper, [], true],
    ['a glob does not match an absent value', 'I*', foldUpper, [null], false],
    ['"!*" excludes any present value', '!*', foldUpper, ['IN'], false],
    ['"!*" lets an absent value through', '!*', foldUpper, [null], true],
    ['a negation alone lets no values through', '!IN', foldUpper, [], true],
    ['a glob in the middle', 'IN_*_X', foldExact, ['IN_abc_X'], true],
    ['a glob in the middle, wrong tail', 'IN_*_X', foldExact, ['IN_abc_Y'], false],
    ['"." is literal, not any character', 'a.c', foldExact, ['abc'], false],
    ['"." is literal', 'a.c', foldExact, ['a.c'], true],
    ['regex characters are literal', '(a+b)?[c]|d$^', foldExact, ['(a+b)?[c]|d$^'], true],
    ['regex characters do not act', 'a+', foldExact, ['aaa'], false],
    ['backslash is literal', 'a\\d', foldExact, ['a\\d'], true],
    ['the whole value must match, not a part', 'IN', foldUpper, ['INDIA'], false],
    ['foldExact is case-sensitive', 'default', foldExact, ['Default'], false],
    ['foldUpper trims', ' in ', foldUpper, ['IN'], true],
    ['foldStatus drops spaces, hyphens, underscores and case', 'NOT-SENT', foldStatus, ['not_sent'], true],
  ])('%s: %j vs %j', (_what, patterns, fold, values, expected) => {
    expect(compilePatterns(patterns, fold)(values)).toBe(expected);
  });

  it('foldStatus is statusKey', () => {
    expect(foldStatus).toBe(statusKey);
  });

  it('"*" matches across line breaks (the old RegExp `.*` stopped at them)', () => {
    expect(compilePatterns('*OTP*', foldExact)(['a\nOTP\r\nb'])).toBe(true);
    expect(compilePatterns('!*OTP*', foldExact)(['x\u2028OTP'])).toBe(false);
  });
});

describe('compileGlob', () => {
  /** The matcher it replaced: one anchored RegExp, `.*` per `*` (with `s`: `*` spans line breaks). */
  function regexGlob(glob: string): (v: string) => boolean {
    const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
    return (v) => re.test(v);
  }

  it.each<[string, string, boolean]>([
    ['', '', true],
    ['', 'a', false],
    ['*', '', true],
    ['**', '', true],
    ['a*', 'a', true],
    ['*a', 'a', true],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*ab*ab*', 'abab', true],
    ['*ab*ab*', 'aba', false],
    ['*aa*aa', 'aaa', false],
    ['*aa*aa', 'aaaa', true],
    ['a*b*c', 'abcbc', true],
    ['a*b*c', 'acb', false],
  ])('%j vs %j -> %s', (glob, value, expected) => {
    expect(compileGlob(glob)(value)).toBe(expected);
    expect(regexGlob(glob)(value)).toBe(expected);
  });

  it('agrees with the RegExp it replaced on a seeded table of 5,000 globs and values', () => {
    const rand = mulberry32(20240405);
    // A small alphabet makes overlaps and near-misses common; "." and "+" check literalness.
    const alphabet = ['a', 'b', 'a', 'b', '.', '+', '\n'];
    const word = (max: number, extra: string[] = []): string => {
      const chars = [...alphabet, ...extra];
      let s = '';
      for (let n = Math.floor(rand() * (max + 1)); n > 0; n--) s += chars[Math.floor(rand() * chars.length)]!;
      return s;
    };
    let matched = 0;
    for (let i = 0; i < 5_000; i++) {
      const glob = word(7, ['*', '*']);
      const value = rand() < 0.5 ? word(10) : glob.replaceAll('*', () => word(3));
      const expected = regexGlob(glob)(value);
      if (compileGlob(glob)(value) !== expected) expect.fail(`case ${i}: ${JSON.stringify(glob)} vs ${JSON.stringify(value)} should be ${expected}`);
      if (expected) matched++;
    }
    // Both outcomes are well represented, so agreement means something.
    expect(matched).toBeGreaterThan(1_000);
    expect(matched).toBeLessThan(4_000);
  });

  it('agrees with the old pattern lists (negation, several values, absent values) on a seeded table', () => {
    const rand = mulberry32(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const globs = ['*', '**', 'IN', 'I*', '*N', '*OTP*', 'O*P', '*a*b*', 'otp', 'X.Y', '*.*'];
    const values = [null, '', 'IN', 'in', ' in ', 'OTP', 'xOTPy', 'otp', 'ab', 'ba', 'XAYB', 'X.Y', 'XzY', 'I'];
    for (let i = 0; i < 1_000; i++) {
      const patterns = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => (rand() < 0.3 ? '!' : '') + pick(globs));
      const given = Array.from({ length: Math.floor(rand() * 3) }, () => pick(values));
      const fold = pick([foldExact, foldUpper]);
      const pos = patterns.filter((p) => !p.startsWith('!')).map((p) => fold(p));
      const neg = patterns.filter((p) => p.startsWith('!')).map((p) => fold(p.slice(1)));
      const present = given.filter((v): v is string => v !== null).map(fold);
      const expected =
        (pos.length === 0 || pos.some((p) => p === '*' || present.some(regexGlob(p)))) && !neg.some((p) => present.some(regexGlob(p)));
      expect(compilePatterns(patterns, fold)(given), `case ${i}: ${JSON.stringify(patterns)} vs ${JSON.stringify(given)}`).toBe(expected);
    }
  });

  describe('a 1 MB value (once a RegExp backtracking for seconds)', () => {
    const MB = 1 << 20;
    /** 1 MB of filler with the given letters placed at the given fractions of its length. */
    function big(marks: [string, number][]): string {
      const chars = new Array<string>(MB).fill('x');
      for (const [c, at] of marks) chars[Math.floor(at * (MB - 1))] = c;
      return chars.join('');
    }

    it.each<[string, string, [string, number][], boolean]>([
      ['a, b, c, d in order', '*a*b*c*d*', [['a', 0.1], ['b', 0.4], ['c', 0.6], ['d', 0.9]], true],
      ['d missing', '*a*b*c*d*', [['a', 0.1], ['b', 0.4], ['c', 0.6]], false],
      ['d before a', '*a*b*c*d*', [['d', 0.05], ['a', 0.1], ['b', 0.4], ['c', 0.6]], false],
      ['only the first and last characters', 'a*d', [['a', 0], ['d', 1]], true],
      ['the wanted tail after the end', '*a*b*c*dx', [['a', 0.1], ['b', 0.4], ['c', 0.6], ['d', 1]], false],
    ])('%s: %s -> %s', (_what, glob, marks, expected) => {
      expect(compileGlob(glob)(big(marks))).toBe(expected);
    });

    it('a route type of a million "a"s against "*a*a*a*a*b" (no "b")', () => {
      expect(compilePatterns('*A*A*A*A*B', foldUpper)(['a'.repeat(MB)])).toBe(false);
    });

    it('a 240 KB route type against the rule "*OTP*"', () => {
      const value = `${'OTQ'.repeat(80_000)}otp`;
      expect(compilePatterns('*OTP*', foldUpper)([value])).toBe(true);
      expect(compilePatterns('*OTP*', foldUpper)([value.slice(0, -1)])).toBe(false);
    });
  });
});

