/**
 * The console's login: the admin token, typed once on a form, buys a signed session cookie
 * (HttpOnly, SameSite=Strict, path /console) and a CSRF token bound to that session. Nothing is
 * kept on the server, so any replica that has the same ADMIN_TOKEN accepts the cookie, and a
 * new token logs every session out.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'kcr_console';
/** The hidden form field every state-changing console request carries. */
export const CSRF_FIELD = '_csrf';
const DEFAULT_TTL_MS = 8 * 3_600_000;

export interface Session {
  /** Random per login; the CSRF token is derived from it. */
  nonce: string;
  expiresAt: number;
  /** Put in every form as `_csrf`. */
  csrf: string;
}

export interface SessionOptions {
  ttlMs?: number;
  now?: () => number;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * @example const sessions = new ConsoleSessions(settings.adminToken); sessions.verify(cookie)?.csrf
 */
export class ConsoleSessions {
  private readonly key: Buffer;
  private readonly expected: Buffer;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(adminToken: string, opts: SessionOptions = {}) {
    // Derived from the token, so sessions end when the token changes; never the token itself.
    this.key = createHmac('sha256', adminToken.trim()).update('kcr console session key').digest();
    this.expected = sha256(adminToken.trim());
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Whether the token typed on the login form is the admin token (constant time, any length). */
  checkToken(given: string): boolean {
    return timingSafeEqual(sha256(given.trim()), this.expected);
  }

  /** A new session: the cookie value to set, and the session it stands for. */
  issue(): { cookie: string; session: Session } {
    const nonce = randomBytes(18).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    const payload = `${expiresAt}.${nonce}`;
    return { cookie: `${payload}.${this.sign(`session:${payload}`)}`, session: this.session(nonce, expiresAt) };
  }

  /** The session a cookie value proves, or null (forged, expired, from another token). */
  verify(cookie: string | undefined): Session | null {
    const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})$/.exec(cookie ?? '');
    if (!m) return null;
    const [, exp, nonce, sig] = m as unknown as [string, string, string, string];
    if (!same(sig, this.sign(`session:${exp}.${nonce}`))) return null;
    if (Number(exp) <= this.now()) return null;
    return this.session(nonce, Number(exp));
  }

  /** Whether a form's `_csrf` belongs to this session. */
  checkCsrf(session: Session, given: string | undefined): boolean {
    return typeof given === 'string' && same(given, session.csrf);
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  private session(nonce: string, expiresAt: number): Session {
    return { nonce, expiresAt, csrf: this.sign(`csrf:${nonce}`) };
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
