import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  CLOCK_TOLERANCE_SECONDS,
  KEYS_UNAVAILABLE,
  TOKEN_ISSUER,
  createTokenAuth,
  tokenAuthConfigSchema,
  type TokenAuthConfig,
  type TokenRequest,
} from './token-auth.js';

const PROFILE = 'IN_09b3dfa7-e05d-4d84-ab2d-6ed654272XXX';
const CLIENT_ID = 'kaleyra-callbacks';
const CLIENT_SECRET = 's3cr3t+with%odd=chars';
const SIGNING_KEY = 'router-signing-key-0123456789abcdef';
const T0 = Date.UTC(2023, 5, 13, 3, 0, 0);

const issueOnly: TokenAuthConfig = { issue: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, signingKey: SIGNING_KEY } };

/** A token request as the HTTP layer hands it over. */
function request(over: Partial<TokenRequest>): TokenRequest {
  return { method: 'POST', contentType: null, authorization: null, body: '', ...over };
}
const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const jsonBody = (o: Record<string, unknown>): Partial<TokenRequest> => ({ contentType: 'application/json', body: JSON.stringify(o) });
const formBody = (o: Record<string, string>): Partial<TokenRequest> => ({
  contentType: 'application/x-www-form-urlencoded',
  body: new URLSearchParams(o).toString(),
});

/** A clock the test moves by hand. */
function clock(start = T0): { now: () => number; advance: (seconds: number) => void } {
  let t = start;
  return { now: () => t, advance: (s) => (t += s * 1000) };
}

/** Issues a token through the endpoint and returns it. */
async function issueToken(auth: ReturnType<typeof createTokenAuth>): Promise<string> {
  const res = await auth.handleTokenRequest(request(jsonBody({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET })));
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

/** Path and message of every problem the schema finds, as a config error would print them. */
function problems(input: unknown): string[] {
  const r = tokenAuthConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('tokenAuthConfigSchema', () => {
  it('accepts an issuing profile, an external provider, or both', () => {
    expect(problems(issueOnly)).toEqual([]);
    expect(problems({ external: { jwksUrl: 'https://login.example/keys', issuer: 'https://login.example/', audience: ['a', 'b'] } })).toEqual([]);
    expect(problems({ ...issueOnly, external: { sharedKey: 'x'.repeat(32), algorithms: ['HS256'] } })).toEqual([]);
  });

  it('names an empty credential as a likely unset environment variable', () => {
    const cfg = { issue: { clientId: CLIENT_ID, clientSecret: process.env.SURELY_UNSET_TOKEN_AUTH_SECRET ?? '', signingKey: SIGNING_KEY } };
    expect(problems(cfg)).toEqual(['issue.clientSecret: is empty (an unset environment variable?)']);
    expect(problems({ issue: { ...issueOnly.issue, clientId: '  ' } })).toEqual(['issue.clientId: is empty (an unset environment variable?)']);
    expect(problems({ external: { sharedKey: '' } })).toEqual(['external.sharedKey: is empty (an unset environment variable?)']);
  });

  it('wants HMAC keys of at least 32 bytes', () => {
    expect(problems({ issue: { ...issueOnly.issue, signingKey: 'short' } })).toEqual(['issue.signingKey: must be at least 32 bytes long (RFC 7518 §3.2)']);
  });

  it('wants exactly one of jwksUrl and sharedKey for an external provider', () => {
    expect(problems({ external: { issuer: 'https://login.example/' } })).toEqual(['external: needs exactly one of jwksUrl or sharedKey']);
    expect(problems({ external: { jwksUrl: 'https://login.example/keys', sharedKey: 'x'.repeat(32) } })).toEqual([
      'external: needs exactly one of jwksUrl or sharedKey',
    ]);
    expect(problems({ external: { jwksUrl: 'ftp://login.example/keys' } })).toEqual(['external.jwksUrl: must be an http(s) URL']);
  });

  it('refuses algorithms that do not fit the key kind (algorithm confusion)', () => {
    expect(problems({ external: { sharedKey: 'x'.repeat(32), algorithms: ['RS256'] } })).toEqual(['external.algorithms.0: RS256 does not fit sharedKey (HMAC)']);
    expect(problems({ external: { jwksUrl: 'https://login.example/keys', algorithms: ['HS256'] } })).toEqual([
      'external.algorithms.0: HS256 does not fit jwksUrl (public keys)',
    ]);
    expect(problems({ external: { sharedKey: 'x'.repeat(32), algorithms: ['none'] } })).toHaveLength(1);
  });

  it('needs issue or external, and knows no other fields', () => {
    expect(problems({})).toEqual([': needs "issue", "external" or both']);
    expect(problems({ issue: { ...issueOnly.issue, ttl: 60 } })).toEqual([expect.stringMatching(/^issue: .*ttl/)]);
  });

  it('is checked again by createTokenAuth, which throws a ConfigError naming the profile and field', () => {
    const bad = { issue: { ...issueOnly.issue!, clientSecret: '' } };
    expect(() => createTokenAuth(PROFILE, bad)).toThrow(ConfigError);
    expect(() => createTokenAuth(PROFILE, bad)).toThrow(`tokenAuth of profile "${PROFILE}" is invalid:\n  - issue.clientSecret: is empty (an unset environment variable?)`);
  });
});

describe('handleTokenRequest: Kaleyra swaps the client id and secret for a token', () => {
  const auth = createTokenAuth(PROFILE, issueOnly, { now: () => T0 });

  it.each([
    ['a JSON body', jsonBody({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET })],
    ['a JSON body with camelCase names', jsonBody({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })],
    ['a JSON body without a content-type', { body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }) }],
    ['an OAuth client-credentials form', formBody({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, resource: PROFILE })],
    ['HTTP Basic', { authorization: basic(CLIENT_ID, CLIENT_SECRET) }],
    ['HTTP Basic with form-encoded id and secret (RFC 6749 §2.3.1)', { authorization: basic(CLIENT_ID, encodeURIComponent(CLIENT_SECRET)) }],
    ['HTTP Basic plus the grant type in a form', { authorization: basic(CLIENT_ID, CLIENT_SECRET), ...formBody({ grant_type: 'client_credentials' }) }],
    ['a PUT, as the profile may be set to', { method: 'PUT', ...jsonBody({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }) }],
  ] as const)('accepts the credentials in %s', async (_name, over) => {
    const res = await auth.handleTokenRequest(request(over));
    expect(res.status).toBe(200);
  });

  it("answers in the shape of Kaleyra's documented sample, numbers as strings", async () => {
    const res = await auth.handleTokenRequest(request(formBody({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })));
    const iat = T0 / 1000;
    expect(res.body).toEqual({
      token_type: 'Bearer',
      expires_in: '3600',
      ext_expires_in: '3600',
      expires_on: String(iat + 3600),
      not_before: String(iat),
      resource: PROFILE,
      access_token: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('issues an HS256 JWT from the router, for this profile, to the client', async () => {
    const token = await issueToken(auth);
    const claims = decodeJwt(token);
    expect(claims).toEqual({
      iss: TOKEN_ISSUER,
      aud: PROFILE,
      sub: CLIENT_ID,
      iat: T0 / 1000,
      nbf: T0 / 1000,
      exp: T0 / 1000 + 3600,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(await issueToken(auth)).jti).not.toBe(claims.jti);
  });

  it('honours ttlSeconds', async () => {
    const short = createTokenAuth(PROFILE, { issue: { ...issueOnly.issue!, ttlSeconds: 300 } }, { now: () => T0 });
    const res = await short.handleTokenRequest(request({ authorization: basic(CLIENT_ID, CLIENT_SECRET) }));
    expect(res.body).toMatchObject({ expires_in: '300', expires_on: String(T0 / 1000 + 300) });
  });

  it.each([
    ['a wrong secret', jsonBody({ client_id: CLIENT_ID, client_secret: 'guess' })],
    ['a wrong client id', formBody({ client_id: 'someone', client_secret: CLIENT_SECRET })],
    ['the secret alone', jsonBody({ client_secret: CLIENT_SECRET })],
    ['wrong Basic credentials', { authorization: basic(CLIENT_ID, 'guess') }],
    ['right Basic credentials but a wrong secret in the body', { authorization: basic(CLIENT_ID, CLIENT_SECRET), ...jsonBody({ client_id: CLIENT_ID, client_secret: 'guess' }) }],
  ] as const)('answers 401 invalid_client to %s, without echoing anything', async (_name, over) => {
    const res = await auth.handleTokenRequest(request(over));
    expect(res).toMatchObject({ status: 401, body: { error: 'invalid_client', message: 'client credentials are wrong' } });
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    expect(JSON.stringify(res.body)).not.toMatch(/guess|s3cr3t|someone/);
  });

  it('answers 401 invalid_client when no credentials are sent', async () => {
    const res = await auth.handleTokenRequest(request({}));
    expect(res).toMatchObject({ status: 401, body: { error: 'invalid_client', message: expect.stringMatching(/missing/) } });
  });

  it.each([
    ['broken JSON', { contentType: 'application/json', body: '{"client_id": "kaleyra-' }, 'invalid_request'],
    ['a JSON array', { contentType: 'application/json', body: '[]' }, 'invalid_request'],
    ['a number as client_secret', jsonBody({ client_id: CLIENT_ID, client_secret: 12345 }), 'invalid_request'],
    ['a Basic header that is not id:secret', { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }, 'invalid_request'],
    ['another grant type', formBody({ grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }), 'unsupported_grant_type'],
  ] as const)('answers 400 to %s', async (_name, over, error) => {
    const res = await auth.handleTokenRequest(request(over));
    expect(res).toMatchObject({ status: 400, body: { error } });
  });

  it('answers 405 to a method Kaleyra cannot be set to use', async () => {
    const res = await auth.handleTokenRequest(request({ method: 'DELETE', authorization: basic(CLIENT_ID, CLIENT_SECRET) }));
    expect(res).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
  });

  it('answers 404 token_endpoint_disabled on a profile that does not issue tokens', async () => {
    const externalOnly = createTokenAuth(PROFILE, { external: { sharedKey: 'k'.repeat(32) } });
    const res = await externalOnly.handleTokenRequest(request({ authorization: basic(CLIENT_ID, CLIENT_SECRET) }));
    expect(res).toMatchObject({ status: 404, body: { error: 'token_endpoint_disabled' } });
  });
});

describe('verify: the bearer on each callback', () => {
  it('accepts a token the profile issued, until it expires (plus the clock tolerance)', async () => {
    const t = clock();
    const auth = createTokenAuth(PROFILE, issueOnly, { now: t.now });
    const token = await issueToken(auth);
    expect(await auth.verify(`Bearer ${token}`)).toBeNull();
    expect(await auth.verify(`bearer  ${token} `)).toBeNull();
    t.advance(3600 + CLOCK_TOLERANCE_SECONDS - 1);
    expect(await auth.verify(`Bearer ${token}`)).toBeNull();
    t.advance(2);
    expect(await auth.verify(`Bearer ${token}`)).toBe('token expired');
  });

  it('refuses a token used before it was issued, beyond the clock tolerance', async () => {
    const t = clock();
    const auth = createTokenAuth(PROFILE, issueOnly, { now: t.now });
    const token = await issueToken(auth);
    t.advance(-(CLOCK_TOLERANCE_SECONDS + 1));
    expect(await auth.verify(`Bearer ${token}`)).toBe('token is not valid yet');
  });

  it('refuses a token issued for another profile, even under the same signing key', async () => {
    const other = createTokenAuth('other-profile', issueOnly, { now: () => T0 });
    const mine = createTokenAuth(PROFILE, issueOnly, { now: () => T0 });
    expect(await mine.verify(`Bearer ${await issueToken(other)}`)).toBe('token is for another profile');
  });

  it('refuses a token with the right claims signed with another key (forged)', async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(PROFILE)
      .setSubject(CLIENT_ID)
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 3600)
      .setJti('x')
      .sign(new TextEncoder().encode('an-attacker-key-0123456789abcdef'));
    const auth = createTokenAuth(PROFILE, issueOnly, { now: () => T0 });
    expect(await auth.verify(`Bearer ${forged}`)).toBe('token signature is invalid');
  });

  it('refuses a token whose claims were edited after signing (tampered)', async () => {
    const other = createTokenAuth('other-profile', issueOnly, { now: () => T0 });
    const [head, body, sig] = (await issueToken(other)).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as JWTPayload;
    const edited = Buffer.from(JSON.stringify({ ...claims, aud: PROFILE })).toString('base64url');
    const auth = createTokenAuth(PROFILE, issueOnly, { now: () => T0 });
    expect(await auth.verify(`Bearer ${head}.${edited}.${sig}`)).toBe('token signature is invalid');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const head = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: TOKEN_ISSUER, aud: PROFILE, exp: T0 / 1000 + 60 })).toString('base64url');
    const auth = createTokenAuth(PROFILE, issueOnly, { now: () => T0 });
    expect(await auth.verify(`Bearer ${head}.${body}.`)).toBe('token algorithm is not accepted');
  });

  it.each([
    [null, 'bearer token is missing'],
    ['', 'bearer token is missing'],
    [basic(CLIENT_ID, CLIENT_SECRET), 'authorization is not a bearer token'],
    ['Bearer not-a-jwt', 'token is malformed'],
  ])('says why %j is refused', async (header, reason) => {
    const auth = createTokenAuth(PROFILE, issueOnly);
    expect(await auth.verify(header)).toBe(reason);
  });

  it('never puts the token or a secret in the reason', async () => {
    const t = clock();
    const auth = createTokenAuth(PROFILE, issueOnly, { now: t.now });
    const token = await issueToken(auth);
    t.advance(7200);
    const reason = await auth.verify(`Bearer ${token}`);
    for (const secret of [token, token.split('.')[2]!, CLIENT_SECRET, SIGNING_KEY]) expect(reason).not.toContain(secret);
  });
});

describe("verify: tokens from the customer's own identity provider", () => {
  const SHARED = 'shared-with-the-idp-0123456789abcdef';
  const IDP = 'https://login.customer.example/';

  function idpToken(key: CryptoKey | Uint8Array, alg: string, claims: JWTPayload & { kid?: string } = {}): Promise<string> {
    const { kid, ...rest } = claims;
    return new SignJWT({ iss: IDP, aud: 'kaleyra-callbacks', ...rest })
      .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  }

  describe('with a shared key', () => {
    const key = new TextEncoder().encode(SHARED);
    const auth = createTokenAuth(PROFILE, { external: { sharedKey: SHARED, issuer: IDP, audience: 'kaleyra-callbacks' } });

    it('accepts a token signed with the shared key from the right issuer for the right audience', async () => {
      expect(await auth.verify(`Bearer ${await idpToken(key, 'HS256')}`)).toBeNull();
      expect(await auth.verify(`Bearer ${await idpToken(key, 'HS512')}`)).toBeNull();
    });

    it('refuses the wrong issuer, the wrong audience, another key, and a token without exp', async () => {
      expect(await auth.verify(`Bearer ${await idpToken(key, 'HS256', { iss: 'https://evil.example/' })}`)).toBe('token issuer is not accepted');
      expect(await auth.verify(`Bearer ${await idpToken(key, 'HS256', { aud: 'someone-else' })}`)).toBe('token audience is not accepted');
      const other = new TextEncoder().encode('x'.repeat(32));
      expect(await auth.verify(`Bearer ${await idpToken(other, 'HS256')}`)).toBe('token signature is invalid');
      const forever = await new SignJWT({ iss: IDP, aud: 'kaleyra-callbacks' }).setProtectedHeader({ alg: 'HS256' }).sign(key);
      expect(await auth.verify(`Bearer ${forever}`)).toBe('token claim exp is missing or invalid');
    });

    it('refuses a token that carries the router issuer but the profile does not issue tokens', async () => {
      const mimic = await idpToken(new TextEncoder().encode(SIGNING_KEY), 'HS256', { iss: TOKEN_ISSUER, aud: PROFILE });
      expect(await auth.verify(`Bearer ${mimic}`)).toBe('token signature is invalid');
    });
  });

  describe('with a JWKS served over HTTP', () => {
    let server: Server;
    let base: string;
    let signing: CryptoKey;
    let impostor: CryptoKey;
    let publicJwk: Record<string, unknown>;
    let requests = 0;

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      signing = pair.privateKey;
      impostor = (await generateKeyPair('RS256')).privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
      publicJwk = jwk;
      server = createServer((req, res) => {
        requests += 1;
        if (req.url === '/keys') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
        } else {
          res.writeHead(500).end('down');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const jwksAuth = (extra: Partial<NonNullable<TokenAuthConfig['external']>> = {}) =>
      createTokenAuth(PROFILE, { external: { jwksUrl: `${base}/keys`, issuer: IDP, audience: ['kaleyra-callbacks', 'other'], ...extra } });

    it('accepts a token signed with a published key, fetching the key set once', async () => {
      const auth = jwksAuth();
      const before = requests;
      expect(await auth.verify(`Bearer ${await idpToken(signing, 'RS256', { kid: 'key-1' })}`)).toBeNull();
      expect(await auth.verify(`Bearer ${await idpToken(signing, 'RS256', { kid: 'key-1', sub: 'again' })}`)).toBeNull();
      expect(requests - before).toBe(1);
    });

    it('refuses the wrong issuer and the wrong audience', async () => {
      const auth = jwksAuth();
      expect(await auth.verify(`Bearer ${await idpToken(signing, 'RS256', { kid: 'key-1', iss: 'https://evil.example/' })}`)).toBe('token issuer is not accepted');
      expect(await auth.verify(`Bearer ${await idpToken(signing, 'RS256', { kid: 'key-1', aud: 'nobody' })}`)).toBe('token audience is not accepted');
    });

    it('refuses a token signed with an unpublished key, under a known or an unknown kid', async () => {
      const auth = jwksAuth();
      expect(await auth.verify(`Bearer ${await idpToken(impostor, 'RS256', { kid: 'key-1' })}`)).toBe('token signature is invalid');
      expect(await auth.verify(`Bearer ${await idpToken(impostor, 'RS256', { kid: 'key-2' })}`)).toBe('token signing key is unknown');
    });

    it('refuses an HS256 token that uses the public key as an HMAC secret (algorithm confusion)', async () => {
      const auth = jwksAuth();
      const forged = await idpToken(new TextEncoder().encode(JSON.stringify(publicJwk)), 'HS256', { kid: 'key-1' });
      expect(await auth.verify(`Bearer ${forged}`)).toBe('token algorithm is not accepted');
    });

    it(`says "${KEYS_UNAVAILABLE}" when the key set cannot be fetched, so the caller may answer 503`, async () => {
      const broken = createTokenAuth(PROFILE, { external: { jwksUrl: `${base}/broken` } });
      expect(await broken.verify(`Bearer ${await idpToken(signing, 'RS256', { kid: 'key-1' })}`)).toBe(KEYS_UNAVAILABLE);
    });

    it('accepts both its own tokens and the provider\u2019s when the profile has issue and external', async () => {
      const both = createTokenAuth(PROFILE, { ...issueOnly, external: { jwksUrl: `${base}/keys`, issuer: IDP } });
      expect(await both.verify(`Bearer ${await issueToken(both)}`)).toBeNull();
      expect(await both.verify(`Bearer ${await idpToken(signing, 'RS256', { kid: 'key-1' })}`)).toBeNull();
    });
  });
});
