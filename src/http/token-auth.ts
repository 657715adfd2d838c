/**
 * Kaleyra "advanced authentication" for a callback profile: a token endpoint that swaps the
 * profile's client id and secret for a short-lived bearer JWT, and the check of that bearer
 * (or of one from the customer's own identity provider) on every callback.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseCallbackBody } from '../ingest/parse.js';

/** `iss` of the tokens the router issues; `aud` is the profile name. */
export const TOKEN_ISSUER = 'kaleyra-callback-router';

/**
 * Seconds of clock skew allowed on `exp` and `nbf`. Kaleyra reuses a token until the
 * `expires_on` we told it, so a callback sent in its last second can arrive just after.
 */
export const CLOCK_TOLERANCE_SECONDS = 5;

const DEFAULT_TTL_SECONDS = 3600;
const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface TokenAuthConfig {
  /** The router issues tokens itself at POST /callbacks/<profile>/token. */
  issue?: {
    /** The Client ID entered in the Kaleyra callback profile. */
    clientId: string;
    /** The Client Secret entered in the Kaleyra callback profile. */
    clientSecret: string;
    /** HS256 signing secret, at least 32 characters. */
    signingKey: string;
    /** Lifetime of an issued token; default 3600. */
    ttlSeconds?: number;
  };
  /** Or/also accept tokens from the customer's own identity provider. */
  external?: {
    /** Required `iss` when set. */
    issuer?: string;
    /** Required `aud` (any of them) when set. */
    audience?: string | string[];
    /** Where the provider publishes its public keys; exactly one of jwksUrl / sharedKey. */
    jwksUrl?: string;
    /** HMAC secret shared with the provider (at least 32 characters). */
    sharedKey?: string;
    /** Accepted `alg`s; default the HMAC ones with sharedKey, the asymmetric ones with jwksUrl. */
    algorithms?: string[];
  };
}

const EMPTY = 'is empty (an unset environment variable?)';
const filled = z.string().refine((s) => s.trim() !== '', EMPTY);
// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (256 bits for HS256).
const hmacKey = filled.refine((s) => s.trim() === '' || Buffer.byteLength(s) >= 32, 'must be at least 32 bytes long (RFC 7518 §3.2)');

/**
 * The strict schema of a profile's `tokenAuth`; issue paths name the field, e.g.
 * `issue.clientSecret: is empty (an unset environment variable?)`.
 * @example tokenAuthConfigSchema.parse({ issue: { clientId: 'kaleyra', clientSecret: process.env.KALEYRA_SECRET, signingKey } })
 */
export const tokenAuthConfigSchema = z
  .object({
    issue: z
      .object({
        clientId: filled,
        clientSecret: filled,
        signingKey: hmacKey,
        ttlSeconds: z.number().int().min(1).max(86_400).optional(),
      })
      .strict()
      .optional(),
    external: z
      .object({
        issuer: filled.optional(),
        audience: z.union([filled, z.array(filled).min(1)]).optional(),
        jwksUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
        sharedKey: hmacKey.optional(),
        algorithms: z.array(z.enum([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS])).min(1).optional(),
      })
      .strict()
      .superRefine((ext, ctx) => {
        if ((ext.jwksUrl === undefined) === (ext.sharedKey === undefined)) {
          ctx.addIssue({ code: 'custom', message: 'needs exactly one of jwksUrl or sharedKey' });
          return;
        }
        // Mixing key kinds and algorithms is the classic JWT algorithm-confusion hole.
        const allowed: readonly string[] = ext.sharedKey !== undefined ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
        ext.algorithms?.forEach((alg, i) => {
          if (!allowed.includes(alg)) {
            const kind = ext.sharedKey !== undefined ? 'sharedKey (HMAC)' : 'jwksUrl (public keys)';
            ctx.addIssue({ code: 'custom', path: ['algorithms', i], message: `${alg} does not fit ${kind}` });
          }
        });
      })
      .optional(),
  })
  .strict()
  .refine((c) => c.issue !== undefined || c.external !== undefined, 'needs "issue", "external" or both');

export interface TokenRequest {
  method: string;
  contentType: string | null;
  authorization: string | null;
  body: string;
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
  /** `Cache-Control: no-store` on every answer (RFC 6749 §5.1), `WWW-Authenticate` on 401. */
  headers: Record<string, string>;
}

export interface TokenAuth {
  /** Answers Kaleyra's authentication request with a token in the shape its docs show. */
  handleTokenRequest(req: TokenRequest): Promise<TokenResponse>;
  /** Null when the Authorization header carries a token this profile accepts, else why not. */
  verify(authorization: string | null): Promise<string | null>;
}

/** Compares two secrets in time that depends on neither's content nor length. */
function sameSecret(got: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(got), digest(expected));
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function answer(status: number, body: Record<string, unknown>): TokenResponse {
  const headers: Record<string, string> = { ...NO_STORE };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="kaleyra-callback-router"';
  return { status, body, headers };
}

type Credentials = { id: string; secret: string; basic: boolean };
type Found = { ok: true; sets: Credentials[] } | { ok: false; response: TokenResponse };

function field(fields: Record<string, unknown>, snake: string, camel: string): unknown {
  return fields[snake] ?? fields[camel];
}

/** Every credential set the request carries: HTTP Basic and/or the body. */
function findCredentials(req: TokenRequest): Found {
  const sets: Credentials[] = [];
  if (/^Basic(\s|$)/i.test(req.authorization ?? '')) {
    const basic = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(req.authorization!);
    const text = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
    const colon = text.indexOf(':');
    if (colon < 0) return { ok: false, response: answer(400, { error: 'invalid_request', message: 'the Basic credentials are not base64 of "client_id:client_secret"' }) };
    sets.push({ id: text.slice(0, colon), secret: text.slice(colon + 1), basic: true });
  }
  if (req.body.trim() !== '') {
    const parsed = parseCallbackBody(req.body, req.contentType);
    if (!parsed.ok) return { ok: false, response: answer(400, { error: 'invalid_request', message: parsed.message }) };
    const f = parsed.fields;
    const grant = f.grant_type ?? f.grantType;
    if (grant !== undefined && grant !== 'client_credentials') {
      return { ok: false, response: answer(400, { error: 'unsupported_grant_type', message: 'only grant_type=client_credentials is supported' }) };
    }
    const id = field(f, 'client_id', 'clientId');
    const secret = field(f, 'client_secret', 'clientSecret');
    for (const [name, v] of [['client_id', id], ['client_secret', secret]] as const) {
      if (v !== undefined && typeof v !== 'string') {
        return { ok: false, response: answer(400, { error: 'invalid_request', message: `${name} must be a string` }) };
      }
    }
    if (id !== undefined || secret !== undefined) {
      sets.push({ id: (id as string | undefined) ?? '', secret: (secret as string | undefined) ?? '', basic: false });
    }
  }
  return { ok: true, sets };
}

/**
 * RFC 6749 §2.3.1 has clients form-encode id and secret before Basic; most send them raw.
 * Accept both, so a secret with "%" or "+" works either way.
 */
function basicVariants(c: Credentials): Credentials[] {
  const decode = (s: string): string | null => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return null;
    }
  };
  const id = decode(c.id);
  const secret = decode(c.secret);
  return id !== null && secret !== null && (id !== c.id || secret !== c.secret) ? [c, { id, secret, basic: true }] : [c];
}

/**
 * The reason `verify` gives when the identity provider's key set could not be fetched: the
 * caller may answer 503 (try again) rather than 401, since the callback itself may be fine.
 */
export const KEYS_UNAVAILABLE = 'token keys could not be fetched';

/** A short, secret-free reason for a jose verification failure. */
function reasonFor(err: unknown, own: boolean, remote: boolean): string {
  // fetch() fails with a TypeError; a non-200 or non-JSON key set is a bare JOSEError.
  if (remote && (err instanceof errors.JWKSTimeout || err instanceof TypeError || (err as object | null)?.constructor === errors.JOSEError)) {
    return KEYS_UNAVAILABLE;
  }
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return own ? 'token is for another profile' : 'token audience is not accepted';
    if (err.claim === 'iss') return 'token issuer is not accepted';
    if (err.claim === 'nbf') return 'token is not valid yet';
    return `token claim ${err.claim} is missing or invalid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'token algorithm is not accepted';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'token signing key is unknown';
  if (err instanceof errors.JWKSInvalid) return 'token keys are not a valid key set';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'token is malformed';
  return 'token is invalid';
}

/**
 * Builds the token endpoint and the bearer check for one callback profile.
 * @example
 * const auth = createTokenAuth('default', { issue: { clientId: 'kaleyra', clientSecret, signingKey } });
 * const res = await auth.handleTokenRequest({ method: 'POST', contentType: 'application/json', authorization: null,
 *   body: JSON.stringify({ client_id: 'kaleyra', client_secret: clientSecret }) }); // 200, { token_type: 'Bearer', ... }
 * await auth.verify(`Bearer ${res.body.access_token}`); // null: accepted
 */
export function createTokenAuth(profile: string, cfg: TokenAuthConfig, opts: { now?: () => number } = {}): TokenAuth {
  const checked = tokenAuthConfigSchema.safeParse(cfg);
  if (!checked.success) {
    const lines = checked.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(tokenAuth)'}: ${i.message}`);
    throw new ConfigError(`tokenAuth of profile "${profile}" is invalid:\n${lines.join('\n')}`);
  }
  return new ProfileTokenAuth(profile, checked.data, opts.now ?? Date.now);
}

class ProfileTokenAuth implements TokenAuth {
  private readonly issue: TokenAuthConfig['issue'];
  private readonly external: TokenAuthConfig['external'];
  private readonly ownKey: Uint8Array | null;
  private readonly ttl: number;
  private readonly externalKey: Uint8Array | JWTVerifyGetKey | null;

  constructor(
    private readonly profile: string,
    cfg: TokenAuthConfig,
    private readonly now: () => number,
  ) {
    const encoder = new TextEncoder();
    this.issue = cfg.issue;
    this.external = cfg.external;
    this.ownKey = cfg.issue ? encoder.encode(cfg.issue.signingKey) : null;
    this.ttl = cfg.issue?.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    // The remote key set caches keys and refetches (with a cooldown) when a token names a new kid.
    this.externalKey = cfg.external
      ? cfg.external.sharedKey !== undefined
        ? encoder.encode(cfg.external.sharedKey)
        : createRemoteJWKSet(new URL(cfg.external.jwksUrl!))
      : null;
  }

  async handleTokenRequest(req: TokenRequest): Promise<TokenResponse> {
    const issue = this.issue;
    if (!issue) {
      return answer(404, { error: 'token_endpoint_disabled', message: `profile "${this.profile}" does not issue tokens` });
    }
    // The Kaleyra profile lets the customer pick the auth URL's method.
    if (!['GET', 'POST', 'PUT'].includes(req.method.toUpperCase())) {
      return answer(405, { error: 'method_not_allowed', message: `${req.method} is not allowed: use POST, PUT or GET` });
    }
    const found = findCredentials(req);
    if (!found.ok) return found.response;
    if (found.sets.length === 0) {
      return answer(401, { error: 'invalid_client', message: 'client credentials are missing: send client_id and client_secret in the body or as HTTP Basic' });
    }
    // Every set sent must be right (header and body both, if Kaleyra sends both).
    const right = (c: Credentials): boolean => {
      const id = sameSecret(c.id, issue.clientId);
      const secret = sameSecret(c.secret, issue.clientSecret);
      return id && secret;
    };
    const ok = found.sets.every((c) => (c.basic ? basicVariants(c).some(right) : right(c)));
    if (!ok) return answer(401, { error: 'invalid_client', message: 'client credentials are wrong' });
    return this.issueToken(issue.clientId);
  }

  private async issueToken(clientId: string): Promise<TokenResponse> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.ttl;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(this.profile)
      .setSubject(clientId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.ownKey!);
    // Kaleyra's documented sample sends every number as a string; mirror it exactly.
    return answer(200, {
      token_type: 'Bearer',
      expires_in: String(this.ttl),
      ext_expires_in: String(this.ttl),
      expires_on: String(exp),
      not_before: String(iat),
      resource: this.profile,
      access_token: token,
    });
  }

  async verify(authorization: string | null): Promise<string | null> {
    if (authorization === null || authorization.trim() === '') return 'bearer token is missing';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return 'authorization is not a bearer token';
    const token = m[1]!;
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return 'token is malformed';
    }
    // Route on the unverified issuer only to pick the key; the chosen path checks everything.
    const own = this.ownKey !== null && (iss === TOKEN_ISSUER || this.externalKey === null);
    try {
      if (own) await jwtVerify(token, this.ownKey!, this.ownOptions());
      else if (typeof this.externalKey === 'function') await jwtVerify(token, this.externalKey, this.externalOptions());
      else await jwtVerify(token, this.externalKey!, this.externalOptions());
      return null;
    } catch (err) {
      return reasonFor(err, own, !own && typeof this.externalKey === 'function');
    }
  }

  private ownOptions(): JWTVerifyOptions {
    return {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: this.profile,
      requiredClaims: ['exp', 'sub', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(this.now()),
    };
  }

  private externalOptions(): JWTVerifyOptions {
    const external = this.external;
    return {
      algorithms: external?.algorithms ?? [...(external?.sharedKey !== undefined ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS)],
      ...(external?.issuer !== undefined ? { issuer: external.issuer } : {}),
      ...(external?.audience !== undefined ? { audience: external.audience } : {}),
      // A bearer that never expires is a password in disguise.
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(this.now()),
    };
  }
}
