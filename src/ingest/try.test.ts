import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes } from '../route/compile.js';
import type { RoutesConfig } from '../route/define-routes.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { encryptValue } from './decrypt.js';
import { Intake } from './intake.js';
import { guessContentType, tryCallback, tryInput } from './try.js';

const KEY = 'k'.repeat(32);

const config = compileRoutes(
  {
    profiles: {
      default: {},
      getonly: { methods: ['GET'] },
      templated: { fieldMap: { message_id: 'msg.id', status: 'msg.state' } },
      sealed: { encryption: { algorithm: 'aes-256-gcm', key: KEY } },
      guarded: { bearerToken: 'secret-token-for-the-edge' },
    },
    kafka: { topics: { events: 'kaleyra.sms.events', failures: 'kaleyra.sms.failures', late: 'kaleyra.sms.late' } },
    webhooks: { crm: { url: 'https://crm.example/sms' } },
    rules: [
      { name: 'every-report', match: { stale: false }, to: ['kafka:events'] },
      { name: 'late-reports', match: { stale: true }, to: ['kafka:late'] },
      { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures', 'webhook:crm'] },
      { name: 'india-otp', match: { iso_code: 'IN', route_type: 'OTP' }, to: ['webhook:crm'] },
    ],
  },
  'try test config',
);

const ENC = { algorithm: 'aes-256-gcm' as const, key: KEY };
/** Every non-empty string value encrypted, as a profile with encryption on sends them. */
const sealedWith = (key: string, fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' && v !== '' ? encryptValue({ ...ENC, key }, v) : v]));

const json = (body: unknown) => ({ method: 'POST', contentType: 'application/json', body: JSON.stringify(body), query: '' });
const AT = new Date('2026-11-01T10:00:00Z');

describe('tryCallback: what the router would do, without doing it', () => {
  it("accepts the provider's POST sample and shows the enriched event, the rules it matches and where it would go", () => {
    const r = tryCallback(config, 'default', json(postSample()), { receivedAt: AT });
    expect(r).toMatchObject({
      accepted: true,
      status: 200,
      profile: 'default',
      event: {
        type: 'sms.undelivered',
        status: 'Undelivered',
        status_class: 'undelivered',
        iso_code: 'IN',
        message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
        received_at: AT.toISOString(),
        stale: false,
      },
      route: { rules: ['every-report', 'failures'], destinations: ['kafka:events', 'kafka:failures', 'webhook:crm'], fallback: false },
    });
  });

  it('gives the event the id the router gives it when it stores the same report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-try-'));
    const spool = new Spool({ path: join(dir, 'spool.db'), plan: (e) => matchRoutes(e, config.table) });
    try {
      const intake = new Intake({ config, spool, metrics: new Metrics(), logger: silentLogger, sentTimeZone: null });
      const stored = await intake.ingest(config.profiles.get('default')!, json(postSample()));
      const tried = tryCallback(config, 'default', json(postSample()));
      expect(stored.ok && tried.accepted).toBe(true);
      if (!stored.ok || !tried.accepted) return;
      expect(tried.event.event_id).toBe(stored.result.eventId);
      expect(tried.route).toEqual(stored.result.route);
    } finally {
      spool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the provider's GET sample from the query string", () => {
    const r = tryCallback(config, 'getonly', tryInput('GET', null, `https://router.example/callbacks/getonly?${GET_SAMPLE_QUERY}`));
    expect(r).toMatchObject({ accepted: true, event: { status: 'Not Sent', message_key: '84352649-f610-4fd7-b7de-c163be9b1XXX:1', raw_query: GET_SAMPLE_QUERY } });
  });

  it('reads XML and key=value text as the router does', () => {
    const xml = tryCallback(config, 'default', tryInput('POST', null, '<DLR><status>DELIVRD</status><id>req-1</id><recipient>919620838123</recipient></DLR>'));
    expect(xml).toMatchObject({ accepted: true, event: { status: 'DELIVRD', status_class: 'delivered', message_key: 'req-1/919620838123' } });
    const text = tryCallback(config, 'default', tryInput('PUT', 'text/plain', 'status=Failed\nid=req-2\nrecipient=919620838124\n'));
    expect(text).toMatchObject({ accepted: true, event: { status_class: 'failed' }, route: { rules: ['every-report', 'failures'] } });
  });

  it('follows the profile: its field map, its decryption key', () => {
    const mapped = tryCallback(config, 'templated', json({ msg: { id: 'm-1:1', state: 'Delivered' }, id: 'req-3' }));
    expect(mapped).toMatchObject({ accepted: true, event: { status: 'Delivered', message_key: 'm-1:1' } });
    const sealed = tryCallback(config, 'sealed', json(sealedWith(KEY, postSample({ status: 'Delivered', description: 'ok' }))));
    expect(sealed).toMatchObject({ accepted: true, event: { status: 'Delivered', description: 'ok' } });
  });

  it("does not ask for the profile's credentials: the payload is what is tried", () => {
    expect(tryCallback(config, 'guarded', json(postSample()))).toMatchObject({ accepted: true });
  });

  it.each<[string, string, Parameters<typeof tryCallback>[2], object]>([
    ['a body that is not JSON', 'default', { method: 'POST', contentType: 'application/json', body: '{"status":', query: '' }, { status: 400, error: 'invalid_body', message: expect.stringMatching(/not valid JSON/) }],
    ['a callback without a status', 'default', json({ id: 'req-1' }), { status: 400, error: 'invalid_callback', problems: [expect.objectContaining({ field: 'status' })] }],
    ['a value encrypted with another key', 'sealed', json(sealedWith('z'.repeat(32), postSample())), { status: 400, error: 'undecryptable', problems: expect.arrayContaining([{ field: 'status', problem: expect.stringMatching(/does not decrypt/) }]) }],
    ['a profile that is not configured', 'nope', json(postSample()), { status: 404, error: 'unknown_profile', message: expect.stringMatching(/"nope".*default, getonly/) }],
    ['a method the profile does not take', 'getonly', json(postSample()), { status: 405, error: 'method_not_allowed', message: 'profile "getonly" takes GET, not POST' }],
    ['a body over the limit', 'default', { method: 'POST', contentType: 'text/plain', body: 'x'.repeat(300 * 1024), query: '' }, { status: 413, error: 'body_too_large' }],
  ])('refuses %s with the 4xx the router would answer, and why', (_what, profile, input, refusal) => {
    expect(tryCallback(config, profile, input)).toMatchObject({ accepted: false, ...refusal });
  });

  it('says where a report would go if it turned out stale, when a rule makes that differ', () => {
    const r = tryCallback(config, 'default', json(postSample({ status: 'Delivered' })));
    expect(r).toMatchObject({ route: { rules: ['every-report'] }, if_stale: { rules: ['late-reports'], destinations: ['kafka:late'] } });
    const plain = compileRoutes({ profiles: { default: {} }, webhooks: { crm: { url: 'https://crm.example/sms' } }, rules: [{ name: 'all', to: ['webhook:crm'] }] });
    expect(tryCallback(plain, 'default', json(postSample()))).not.toHaveProperty('if_stale');
  });

  it('reports the fallback, or that nothing would receive it', () => {
    const base: RoutesConfig = { profiles: { default: {} }, webhooks: { crm: { url: 'https://crm.example/sms' } }, rules: [{ name: 'otp', match: { route_type: 'OTP' }, to: ['webhook:crm'] }] };
    expect(tryCallback(compileRoutes({ ...base, fallback: ['webhook:crm'] }), 'default', json(postSample()))).toMatchObject({ route: { rules: [], fallback: true, destinations: ['webhook:crm'] } });
    expect(tryCallback(compileRoutes(base), 'default', json(postSample()))).toMatchObject({ route: { rules: [], fallback: false, destinations: [] } });
  });

  it('stores nothing: the spool has the same rows after trying accepted and refused payloads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-try-'));
    const path = join(dir, 'spool.db');
    const spool = new Spool({ path, plan: (e) => matchRoutes(e, config.table) });
    const reader = new Database(path, { readonly: true });
    const rows = () => Object.fromEntries(['events', 'deliveries', 'attempts', 'message_state', 'dedupe', 'rejected'].map((t) => [t, (reader.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
    try {
      await new Intake({ config, spool, metrics: new Metrics(), logger: silentLogger }).ingest(config.profiles.get('default')!, json(postSample({ message_id: 'kept:1' })));
      const before = rows();
      expect(before).toMatchObject({ events: 1, deliveries: 3 });
      tryCallback(config, 'default', json(postSample({ message_id: 'tried:1' })));
      tryCallback(config, 'default', json(postSample({ message_id: 'kept:1', status: 'Delivered' })));
      tryCallback(config, 'default', json({ id: 'no-status' }));
      expect(rows()).toEqual(before);
    } finally {
      reader.close();
      spool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('guessContentType and tryInput: what a pasted payload stands for', () => {
  it.each([
    ['{"status":"DELIVRD"}', 'application/json'],
    ['  [1]', 'application/json'],
    ['\uFEFF<DLR/>', 'application/xml'],
    ['status=DELIVRD&id=1', 'application/x-www-form-urlencoded'],
    ['?status=DELIVRD&id=1', 'application/x-www-form-urlencoded'],
    ['status=DELIVRD\nid=1', 'text/plain'],
    ['delivered', 'text/plain'],
  ])('%j is %s', (payload, type) => {
    expect(guessContentType(payload)).toBe(type);
  });

  it.each([
    ['GET', 'status=a?b&id=1', 'status=a?b&id=1'],
    ['GET', '?status=DELIVRD&id=1', 'status=DELIVRD&id=1'],
    ['DELETE', 'http://router.example/callbacks/x?status=DELIVRD', 'status=DELIVRD'],
    ['GET', '/callbacks/x?id=1', 'id=1'],
  ])('%s takes %j as the query %j', (method, payload, query) => {
    expect(tryInput(method, 'application/json', payload)).toEqual({ method, contentType: null, body: '', query });
  });

  it('takes the payload as the body for POST and PUT, guessing its type when none is given', () => {
    expect(tryInput('POST', null, '<DLR/>')).toEqual({ method: 'POST', contentType: 'application/xml', body: '<DLR/>', query: '' });
    expect(tryInput('PUT', 'text/plain', '{"a":1}')).toEqual({ method: 'PUT', contentType: 'text/plain', body: '{"a":1}', query: '' });
  });
});
