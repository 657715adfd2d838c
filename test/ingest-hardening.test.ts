/**
 * The request path under real traffic: bulk sends, every method and body kind, advanced auth,
 * callback encryption, and callbacks built to hurt the router or leak its secrets. Real HTTP
 * into the router on 127.0.0.1, a real Kafka broker and real webhook receivers out.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { TOKEN_ISSUER } from '../src/http/token-auth.js';
import { ENCRYPTION_ALGORITHMS, encryptValue, type EncryptionAlgorithm, type EncryptionConfig } from '../src/ingest/decrypt.js';
import { createLogger } from '../src/log.js';
import { compileRoutes } from '../src/route/compile.js';
import type { RoutesConfig } from '../src/route/define-routes.js';
import type { RunningRouter } from '../src/router.js';
import { createTopics, kafkaBrokers, sleep, uniqueTopic, waitFor, type ReadMessage } from './support/kafka.js';
import { stallRequest } from './support/raw-http.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { FAST_RETRY, ROOT, postCallback, postSample, startTestRouter, tempDir, writeConfig } from './support/router.js';
import { tailTopics, type TopicTail } from './support/topic-tail.js';

const RUN = randomBytes(3).toString('hex');
/** Quotes, spaces and base64 punctuation: any token the settings accept must log in. */
const ADMIN_TOKEN = `adm "in" +/= token ${RUN} with spaces`;
const SIGNING_KEY = 'kcr-hardening-signing-key-at-least-32-bytes';
const CLIENT = { client_id: 'kaleyra-a', client_secret: 'client-secret-a-9f2' };
/** UTF-8 keys of the length each algorithm needs (16/24/32 bytes). */
const KEYS: Record<EncryptionAlgorithm, string> = {
  'aes-128-gcm': 'k128gcm-0123456x',
  'aes-192-gcm': 'k192gcm-0123456789abcdex',
  'aes-256-gcm': 'k256gcm-0123456789abcdef01234567',
  'aes-128-cfb': 'k128cfb-0123456x',
  'aes-192-cfb': 'k192cfb-0123456789abcdex',
  'aes-256-cfb': 'k256cfb-0123456789abcdef01234567',
};
const SAMPLE_STATUS_TIME = '2022-04-05T08:55:50.000Z';

const json = (body: unknown, method = 'POST'): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const ofRequest = (id: string) => (m: ReadMessage) => m.json.request_id === id;
const ofMessage = (mid: string) => (m: ReadMessage) => m.json.message_id === mid;

/** Every string value of a callback encrypted (numbers and empty strings travel as they are). */
function encryptFields(fields: Record<string, unknown>, encrypt: (plain: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' && v !== '' ? encrypt(v) : v]));
}

/** The layout the router assumes by default (Kaleyra's page does not spell it out), built with node:crypto alone: base64(IV ‖ ct ‖ tag) / base64(IV ‖ ct). */
function encryptByHand(algorithm: EncryptionAlgorithm, key: string, plain: string): string {
  const gcm = algorithm.endsWith('-gcm');
  const iv = randomBytes(gcm ? 12 : 16);
  const cipher = createCipheriv(algorithm, Buffer.from(key, 'utf8'), iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  const parts = gcm ? [iv, ct, (cipher as unknown as { getAuthTag(): Buffer }).getAuthTag()] : [iv, ct];
  return Buffer.concat(parts).toString('base64');
}

/** Bytes of the files in the data dir (spool.db, its WAL and shared memory). */
function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(join(dir, e.name)).size, 0);
}

describe('ingest hardening against a real Kafka broker', () => {
  const topics = { all: uniqueTopic('hardening-all'), otp: uniqueTopic('hardening-otp') };
  const dir = tempDir('kcr-hardening-');
  const logLines: string[] = [];
  let router: RunningRouter;
  let tail: TopicTail;
  let bulkHook: Receiver;
  let leakyHook: Receiver;

  const admin = (path: string, init: RequestInit = {}, token = ADMIN_TOKEN) =>
    fetch(`${router.url}/admin${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });

  function config(): RoutesConfig {
    return {
      profiles: {
        default: {},
        bulk: {},
        'get-only': { methods: ['GET'] },
        templated: { fieldMap: { message_id: 'msgid', status: 'data.st', status_time: 'data.ts', id: 'req' } },
        issuer: { tokenAuth: { issue: { clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, signingKey: SIGNING_KEY, ttlSeconds: 1 } } },
        'issuer-b': { tokenAuth: { issue: { clientId: 'kaleyra-b', clientSecret: 'client-secret-b-4c1', signingKey: SIGNING_KEY } } },
        ...Object.fromEntries(ENCRYPTION_ALGORITHMS.map((algorithm) => [`enc-${algorithm}`, { encryption: { algorithm, key: KEYS[algorithm] } }])),
      },
      kafka: { topics: { all: topics.all, otp: topics.otp } },
      webhooks: {
        bulk: { url: bulkHook.url },
        leaky: { url: `${leakyHook.url}?token=s3cr3t`, retry: { maxAttempts: 1 } },
      },
      rules: [
        { name: 'everything', to: ['kafka:all'] },
        { name: 'bulk-webhook', match: { profile: 'bulk' }, to: ['webhook:bulk'] },
        { name: 'otp', match: { route_type: '*OTP*' }, to: ['kafka:otp'] },
        { name: 'leaky', match: { route_type: 'LEAKY' }, to: ['webhook:leaky'] },
      ],
      retry: FAST_RETRY,
    };
  }

  // Without a broker every test fails with the reason (a throwing beforeAll would only skip them).
  let setupFailed: unknown = null;
  beforeAll(async () => {
    try {
      kafkaBrokers();
      await createTopics(Object.values(topics));
      tail = await tailTopics(Object.values(topics));
      bulkHook = await startReceiver();
      leakyHook = await startReceiver(() => 500);
      router = await startTestRouter(config(), {
        dataDir: dir.path,
        env: { ADMIN_TOKEN },
        logger: createLogger('debug', (line: string) => {
          logLines.push(line);
          return true;
        }),
      });
    } catch (err) {
      setupFailed = err;
    }
  });
  beforeEach(() => {
    if (setupFailed) throw setupFailed;
  });

  afterAll(async () => {
    await router?.close();
    await tail?.stop();
    await bulkHook?.close();
    await leakyHook?.close();
    dir.remove();
  });

  it('keeps all 50 recipients of one bulk send request, and only resends are duplicates', async () => {
    const id = randomUUID();
    const reports = Array.from({ length: 50 }, (_, i) =>
      postSample({
        id,
        message_id: `${id}:${i + 1}`,
        recipient: `9196208${String(38_000 + i + 1)}`,
        status: 'Delivered',
        status_trace: 'DELIVRD',
        description: 'Delivered',
        status_time: '2022-04-05 08:55:50+00:00',
      }),
    );
    const answers = await Promise.all(reports.map(async (r) => {
      const res = await postCallback(router.url, r, 'bulk');
      return { status: res.status, body: (await res.json()) as { duplicate: boolean; event_id: string } };
    }));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(answers.filter((a) => a.body.duplicate)).toEqual([]);

    const events = (await tail.until((m) => m.filter(ofRequest(id)).length >= 50)).filter(ofRequest(id));
    expect(events).toHaveLength(50);
    expect(new Set(events.map((e) => e.json.message_key)).size).toBe(50);
    for (const e of events) {
      expect(e.json.request_id).toBe(id);
      expect(e.json.message_id).toBe(`${id}:${e.json.message_index}`);
      expect(e.json).toMatchObject({ status_class: 'delivered', status_time: SAMPLE_STATUS_TIME });
    }
    expect(events.map((e) => e.json.message_index).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const hooked = () => bulkHook.received.filter((r) => r.json.data.request_id === id);
    await waitFor(() => hooked().length >= 50, 30_000);
    expect(new Set(hooked().map((r) => r.headers['webhook-id'])).size).toBe(50);

    // Kaleyra resends five of them exactly: acknowledged as duplicates, nothing new goes out.
    const resent = await Promise.all(reports.slice(10, 15).map((r) => postCallback(router.url, r, 'bulk')));
    for (const res of resent) expect(await res.json()).toMatchObject({ status: 'accepted', duplicate: true });
    const sentinel = `sentinel-${RUN}`;
    expect((await postCallback(router.url, postSample({ id: sentinel, message_id: `${sentinel}:1` }), 'bulk')).status).toBe(200);
    await tail.until((m) => m.some(ofRequest(sentinel)));
    await waitFor(() => bulkHook.received.some((r) => r.json.data.request_id === sentinel), 30_000);
    await sleep(300);
    expect(tail.messages.filter(ofRequest(id))).toHaveLength(50);
    expect(hooked()).toHaveLength(50);
  });

  it('takes the same report by GET, POST, PUT and DELETE; a GET-only profile answers 405 with Allow', async () => {
    const mid = (m: string) => `methods-${RUN}-${m}:1`;
    const query = (m: string) => new URLSearchParams(Object.entries(postSample({ message_id: mid(m) })).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const sent = await Promise.all([
      fetch(`${router.url}/callbacks/default?${query('GET')}`),
      fetch(`${router.url}/callbacks/default`, json(postSample({ message_id: mid('POST') }))),
      fetch(`${router.url}/callbacks/default`, json(postSample({ message_id: mid('PUT') }), 'PUT')),
      fetch(`${router.url}/callbacks/default?${query('DELETE')}`, { method: 'DELETE' }),
    ]);
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const methods = ['GET', 'POST', 'PUT', 'DELETE'];
    await tail.until((m) => methods.every((x) => m.some(ofMessage(mid(x)))));
    for (const x of methods) {
      const mine = tail.messages.filter(ofMessage(mid(x)));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.json).toMatchObject({ status: 'Undelivered', status_time: SAMPLE_STATUS_TIME, price: '0.001354', recipient: '919620838XXX', country: 'India' });
      expect(mine[0]!.json.raw_query).toBe(x === 'GET' || x === 'DELETE' ? query(x) : null);
    }

    const refused = await fetch(`${router.url}/callbacks/get-only`, json(postSample({ message_id: `get-only-${RUN}:1` })));
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('GET');
    expect((await fetch(`${router.url}/callbacks/get-only?${query('get-only')}`)).status).toBe(200);
  });

  it('reads an XML body, key=value text and a custom template through its field map', async () => {
    const xmlId = `xml-${RUN}:1`;
    const textId = `text-${RUN}:1`;
    const tmplId = `tmpl-${RUN}:1`;
    const xml = `<DLR>${Object.entries(postSample({ message_id: xmlId, status: 'Delivered', status_trace: 'DELIVRD' }))
      .map(([k, v]) => `<${k}>${String(v)}</${k}>`)
      .join('\n  ')}</DLR>`;
    const text = Object.entries(postSample({ message_id: textId }))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n');
    const template = { msgid: tmplId, data: { st: 'Delivered', ts: '2022-04-05 08:55:50+00:00' }, req: `req-${RUN}`, recipient: '919620838123', iso_code: 'IN' };
    const sent = await Promise.all([
      fetch(`${router.url}/callbacks/default`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml }),
      fetch(`${router.url}/callbacks/default`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text }),
      fetch(`${router.url}/callbacks/templated`, json(template)),
    ]);
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200]);
    await tail.until((m) => [xmlId, textId, tmplId].every((x) => m.some(ofMessage(x))));
    const one = (x: string) => tail.messages.find(ofMessage(x))!.json;
    expect(one(xmlId)).toMatchObject({ status: 'Delivered', status_class: 'delivered', status_time: SAMPLE_STATUS_TIME, price: '0.001354', flash: false, iso_code: 'IN' });
    // Hand-written lines keep "+" as data: the offset of status_time survives.
    expect(one(textId)).toMatchObject({ status: 'Undelivered', status_trace: 'REJECTED-MULTIPART', status_time: SAMPLE_STATUS_TIME, description: 'Validation fail [SMS over 160 characters]' });
    expect(one(tmplId)).toMatchObject({
      profile: 'templated',
      status: 'Delivered',
      status_class: 'delivered',
      status_time: SAMPLE_STATUS_TIME,
      request_id: `req-${RUN}`,
      message_index: 1,
      recipient_e164: '+919620838123',
      raw: template,
    });
  });

  it('advanced authentication: issues tokens, accepts its own, refuses wrong, forged, foreign and expired ones', async () => {
    const token = (profile: string, body: unknown) => fetch(`${router.url}/callbacks/${profile}/token`, json(body));
    const issued = await token('issuer', CLIENT);
    expect(issued.status).toBe(200);
    const grant = (await issued.json()) as { token_type: string; access_token: string; expires_in: unknown; expires_on: string };
    expect(grant).toMatchObject({ token_type: 'Bearer', expires_in: '1' });
    expect(grant.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const bearer = (t: string, mid: string) =>
      fetch(`${router.url}/callbacks/issuer`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify(postSample({ message_id: mid })) });

    const okId = `token-ok-${RUN}:1`;
    expect((await bearer(grant.access_token, okId)).status).toBe(200);
    await tail.until((m) => m.some(ofMessage(okId)));
    expect(tail.messages.find(ofMessage(okId))!.json.profile).toBe('issuer');

    const wrongSecret = await token('issuer', { ...CLIENT, client_secret: 'not-the-secret' });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).not.toHaveProperty('access_token');

    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience('issuer')
      .setSubject(CLIENT.client_id)
      .setIssuedAt()
      .setExpirationTime('10m')
      .setJti(randomUUID())
      .sign(new TextEncoder().encode('another-key-that-is-also-32-bytes-long!'));
    expect((await bearer(forged, `token-forged-${RUN}:1`)).status).toBe(401);

    const other = (await (await token('issuer-b', { client_id: 'kaleyra-b', client_secret: 'client-secret-b-4c1' })).json()) as { access_token: string };
    expect((await bearer(other.access_token, `token-foreign-${RUN}:1`)).status).toBe(401);

    // ttl 1 s, plus the 5 s clock tolerance, plus a second of margin.
    await sleep(Math.max(0, (Number(grant.expires_on) + 5 + 1) * 1000 - Date.now()));
    expect((await bearer(grant.access_token, `token-expired-${RUN}:1`)).status).toBe(401);

    // None of the refused ones became an event, and none was stored: only metadata was noted.
    await sleep(300);
    for (const x of ['forged', 'foreign', 'expired']) expect(tail.messages.some(ofMessage(`token-${x}-${RUN}:1`))).toBe(false);
    const listed = (await (await admin('/rejected?profile=issuer')).json()) as { rejected: unknown[]; refused_unstored: { profile: string; status: number }[] };
    expect(listed.rejected).toEqual([]);
    expect(listed.refused_unstored.filter((n) => n.profile === 'issuer' && n.status === 401).length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(listed)).not.toContain('not-the-secret');
  });

  it('decrypts callbacks for all six AES algorithms; a wrong key is a 400 kept for re-ingest', async () => {
    const sent = await Promise.all(
      ENCRYPTION_ALGORITHMS.map((algorithm) => {
        const cfg: EncryptionConfig = { algorithm, key: KEYS[algorithm] };
        // Two built by hand from the page's layout, so encryptValue is not checking itself.
        const byHand = algorithm === 'aes-256-gcm' || algorithm === 'aes-128-cfb';
        const encrypt = (v: string) => (byHand ? encryptByHand(algorithm, KEYS[algorithm], v) : encryptValue(cfg, v));
        return postCallback(router.url, encryptFields(postSample({ message_id: `enc-${algorithm}-${RUN}:1` }), encrypt), `enc-${algorithm}`);
      }),
    );
    expect(sent.map((r) => r.status)).toEqual(Array(6).fill(200));
    await tail.until((m) => ENCRYPTION_ALGORITHMS.every((a) => m.some(ofMessage(`enc-${a}-${RUN}:1`))));
    for (const algorithm of ENCRYPTION_ALGORITHMS) {
      expect(tail.messages.find(ofMessage(`enc-${algorithm}-${RUN}:1`))!.json).toMatchObject({
        profile: `enc-${algorithm}`,
        status: 'Undelivered',
        recipient: '919620838XXX',
        price: '0.001354',
        status_time: SAMPLE_STATUS_TIME,
        raw: postSample({ message_id: `enc-${algorithm}-${RUN}:1` }),
      });
    }

    const wrongKey: EncryptionConfig = { algorithm: 'aes-256-gcm', key: 'not-the-profile-key-0123456789ab' };
    const bad = await postCallback(router.url, encryptFields(postSample({ message_id: `enc-wrong-${RUN}:1` }), (v) => encryptValue(wrongKey, v)), 'enc-aes-256-gcm');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'undecryptable' });
    const kept = (await (await admin('/rejected?profile=enc-aes-256-gcm')).json()) as { rejected: { status_code: number; body: string }[] };
    expect(kept.rejected).toHaveLength(1);
    expect(kept.rejected[0]).toMatchObject({ status_code: 400 });
  });

  it('re-ingests a payload refused for a wrong key once a router with the right key runs on the same data dir', async () => {
    const replayDir = tempDir('kcr-hardening-replay-');
    const profileWith = (key: string): RoutesConfig => ({
      profiles: { 'enc-replay': { encryption: { algorithm: 'aes-256-gcm', key } } },
      kafka: { topics: { all: topics.all } },
      rules: [{ name: 'all', to: ['kafka:all'] }],
    });
    const rightKey = 'the-right-key-0123456789abcdefgh';
    const mid = `enc-replay-${RUN}:1`;
    try {
      const before = await startTestRouter(profileWith('the-wrong-key-0123456789abcdefgh'), { dataDir: replayDir.path, env: { ADMIN_TOKEN } });
      try {
        const res = await postCallback(before.url, encryptFields(postSample({ message_id: mid }), (v) => encryptValue({ algorithm: 'aes-256-gcm', key: rightKey }, v)), 'enc-replay');
        expect(res.status).toBe(400);
      } finally {
        await before.close();
      }
      const after = await startTestRouter(profileWith(rightKey), { dataDir: replayDir.path, env: { ADMIN_TOKEN } });
      try {
        const replay = await fetch(`${after.url}/admin/rejected/replay`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ profile: 'enc-replay' }),
        });
        expect(replay.status).toBe(200);
        expect(await replay.json()).toMatchObject({ considered: 1, accepted: 1, refused: [] });
        await tail.until((m) => m.some(ofMessage(mid)));
        expect(tail.messages.find(ofMessage(mid))!.json).toMatchObject({ profile: 'enc-replay', status: 'Undelivered', recipient: '919620838XXX' });
      } finally {
        await after.close();
      }
    } finally {
      replayDir.remove();
    }
  });

  describe('no callback can hurt another', () => {
    it('a body nested 10,000 deep gets a 4xx while the 40 honest callbacks beside it are delivered', async () => {
      const deepJson = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const deepXml = `<DLR>${'<a>'.repeat(10_000)}1${'</a>'.repeat(10_000)}</DLR>`;
      const honest = Array.from({ length: 40 }, (_, i) => postSample({ message_id: `deep-${RUN}:${i + 1}` }));
      const [json1, xml1, ...rest] = await Promise.all([
        fetch(`${router.url}/callbacks/default`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deepJson }),
        fetch(`${router.url}/callbacks/default`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: deepXml }),
        ...honest.map((h) => postCallback(router.url, h)),
      ]);
      expect(json1!.status).toBeGreaterThanOrEqual(400);
      expect(json1!.status).toBeLessThan(500);
      expect(xml1!.status).toBeGreaterThanOrEqual(400);
      expect(xml1!.status).toBeLessThan(500);
      expect(rest.map((r) => r.status)).toEqual(Array(40).fill(200));
      const mine = await tail.until((m) => m.filter((x) => String(x.json.message_id).startsWith(`deep-${RUN}:`)).length >= 40);
      expect(new Set(mine.filter((x) => String(x.json.message_id).startsWith(`deep-${RUN}:`)).map((x) => x.json.message_id)).size).toBe(40);
    });

    it('a 240 KB route type is refused while 20 honest OTP callbacks are routed and /healthz keeps answering', async () => {
      const big = postSample({ message_id: `big-otp-${RUN}:1`, type: `OTP${'X'.repeat(240_000)}` });
      let probing = true;
      const probes: { status: number; ms: number }[] = [];
      const prober = (async () => {
        while (probing) {
          const t0 = Date.now();
          const res = await fetch(`${router.url}/healthz`);
          probes.push({ status: res.status, ms: Date.now() - t0 });
          await sleep(10);
        }
      })();
      const [bigRes, ...honest] = await Promise.all([
        postCallback(router.url, big),
        ...Array.from({ length: 20 }, (_, i) => postCallback(router.url, postSample({ message_id: `otp-${RUN}:${i + 1}`, type: 'OTP' }))),
      ]);
      expect([400, 413]).toContain(bigRes!.status);
      expect(honest.map((r) => r.status)).toEqual(Array(20).fill(200));
      await tail.until((m) => m.filter((x) => x.topic === topics.otp && String(x.json.message_id).startsWith(`otp-${RUN}:`)).length >= 20);
      probing = false;
      await prober;
      expect(probes.length).toBeGreaterThan(0);
      expect(probes.every((p) => p.status === 200 && p.ms < 5_000)).toBe(true);
      expect(tail.messages.filter((x) => x.topic === topics.otp && String(x.json.message_id).startsWith(`otp-${RUN}:`))).toHaveLength(20);
      expect(tail.messages.some(ofMessage(`big-otp-${RUN}:1`))).toBe(false);
    });

    it('60 POSTs of 256 KB to unknown profiles cost no disk and are noted as metadata only', async () => {
      await sleep(500); // earlier batched writes land first
      const before = dirBytes(dir.path);
      const junk = 'x'.repeat(256 * 1024);
      const [floods, honest] = await Promise.all([
        Promise.all(Array.from({ length: 60 }, (_, i) => fetch(`${router.url}/callbacks/nope-${RUN}-${i}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: junk }))),
        Promise.all(Array.from({ length: 10 }, (_, i) => postCallback(router.url, postSample({ message_id: `flood-${RUN}:${i + 1}` })))),
      ]);
      expect(floods.map((r) => r.status)).toEqual(Array(60).fill(404));
      expect(honest.map((r) => r.status)).toEqual(Array(10).fill(200));
      await tail.until((m) => m.filter((x) => String(x.json.message_id).startsWith(`flood-${RUN}:`)).length >= 10);
      await sleep(500);
      expect(dirBytes(dir.path) - before).toBeLessThan(1024 * 1024);

      const listed = (await (await admin('/rejected?limit=1000')).json()) as {
        rejected: { profile: string }[];
        refused_unstored: { profile: string; status: number; error: string; bytes: number | null }[];
      };
      expect(listed.rejected.filter((r) => r.profile.startsWith(`nope-${RUN}`))).toEqual([]);
      const noted = listed.refused_unstored.filter((n) => n.profile.startsWith(`nope-${RUN}`));
      expect(noted).toHaveLength(60);
      expect(noted.every((n) => n.status === 404 && n.error === 'unknown_profile' && n.bytes === 256 * 1024)).toBe(true);
      expect(JSON.stringify(listed)).not.toContain('xxxxxxxx');
    });

    it('a credential left undefined by an unset env var stops start-up, naming the profile and the field', async () => {
      const cfgDir = tempDir('kcr-hardening-cfg-');
      try {
        const path = writeConfig(
          cfgDir.path,
          `{ profiles: { partner: { bearerToken: process.env.KCR_HARDENING_UNSET_TOKEN } }, kafka: { topics: { t: 'never-used' } }, rules: [{ name: 'all', to: ['kafka:t'] }] }`,
        );
        const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: cfgDir.path, KAFKA_BROKERS: '' };
        delete env.KCR_HARDENING_UNSET_TOKEN;
        const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/server.ts'), '--config', path], { cwd: ROOT, env });
        let stderr = '';
        proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
        expect(code).toBe(2);
        expect(stderr).toContain('profile "partner", field "bearerToken": is configured but empty (an unset environment variable?)');
      } finally {
        cfgDir.remove();
      }
      // The same check, in process: a ConfigError, not a profile that accepts anyone.
      expect(() => compileRoutes({ profiles: { partner: { bearerToken: undefined } }, rules: [] }, 'inline')).toThrow(ConfigError);
    });

    it('a webhook URL secret never shows in dead letters or logs', async () => {
      const res = await postCallback(router.url, postSample({ message_id: `leaky-${RUN}:1`, type: 'LEAKY' }));
      const { event_id } = (await res.json()) as { event_id: string };
      const dead = async () => (await (await admin(`/dead-letters?destination=webhook:leaky&event_id=${event_id}`)).json()) as { dead_letters: { last_error: string }[] };
      await waitFor(async () => (await dead()).dead_letters.length === 1, 15_000);
      const body = await dead();
      expect(body.dead_letters).toHaveLength(1);
      expect(body.dead_letters[0]!.last_error).toContain('answered 500');
      expect(JSON.stringify(body)).not.toContain('s3cr3t');
      expect(leakyHook.received).toHaveLength(1);
      expect(logLines.some((l) => l.includes('dead-lettered') && l.includes(event_id))).toBe(true);
      expect(logLines.filter((l) => l.includes('s3cr3t'))).toEqual([]);
    });

    it('admin inputs out of bounds are 400s, and an admin token with quotes, spaces and +/= logs in', async () => {
      expect((await admin('/destinations')).status).toBe(200);
      expect((await admin('/destinations', {}, `${ADMIN_TOKEN}x`)).status).toBe(401);
      const huge = await admin('/dead-letters?limit=1e20');
      expect(huge.status).toBe(400);
      expect(await huge.json()).toMatchObject({ error: 'invalid_filter' });
      const many = await admin('/replay', json({ ids: Array.from({ length: 40_000 }, (_, i) => i + 1) }));
      expect(many.status).toBe(400);
      expect(((await many.json()) as { message: string }).message).toContain('at most 1000 ids');
    });

    it('a client that stops mid-request is cut off by the HTTP timeouts while an honest callback goes through', async () => {
      const slowDir = tempDir('kcr-hardening-slow-');
      const slow = await startTestRouter(
        { profiles: { default: {} }, kafka: { topics: { all: topics.all } }, rules: [{ name: 'all', to: ['kafka:all'] }] },
        { dataDir: slowDir.path, env: { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000' } },
      );
      try {
        const mid = `slow-${RUN}:1`;
        const [headers, body, honest] = await Promise.all([
          stallRequest(slow.port, 'POST /callbacks/default HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty', 12_000),
          stallRequest(slow.port, 'POST /callbacks/default HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"status":', 12_000),
          sleep(200).then(() => postCallback(slow.url, postSample({ message_id: mid }))),
        ]);
        expect(honest.status).toBe(200);
        for (const stalled of [headers, body]) {
          expect(stalled.stillOpen).toBe(false);
          expect(stalled.closedAfterMs).toBeLessThan(10_000);
          if (stalled.response) expect(stalled.response).toMatch(/^HTTP\/1\.1 408/);
        }
        await tail.until((m) => m.some(ofMessage(mid)));
        expect(tail.messages.some(ofMessage(mid))).toBe(true);
      } finally {
        await slow.close();
        slowDir.remove();
      }
    });
  });
});
