import { describe, expect, it } from 'vitest';
import { ConsoleSessions } from './session.js';

const TOKEN = 'admin-token-for-tests';
const T0 = Date.parse('2026-11-01T10:00:00Z');

describe('ConsoleSessions: the login', () => {
  it('takes the admin token typed on the form, with stray spaces around it, and nothing else', () => {
    const sessions = new ConsoleSessions(TOKEN);
    expect(sessions.checkToken(TOKEN)).toBe(true);
    expect(sessions.checkToken(` ${TOKEN}\n`)).toBe(true);
    expect(sessions.checkToken('admin-token-for-test')).toBe(false);
    expect(sessions.checkToken(`${TOKEN}x`)).toBe(false);
    expect(sessions.checkToken('')).toBe(false);
    expect(sessions.checkToken('x'.repeat(10_000))).toBe(false);
  });
});

describe('ConsoleSessions: the session cookie', () => {
  it('issues a cookie that verifies as the same session, with a CSRF token of its own, and never carries the admin token', () => {
    const sessions = new ConsoleSessions(TOKEN, { now: () => T0 });
    const { cookie, session } = sessions.issue();
    expect(cookie).not.toContain(TOKEN);
    expect(sessions.verify(cookie)).toEqual(session);
    expect(session.expiresAt).toBe(T0 + 8 * 3_600_000);
    expect(session.csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(sessions.maxAgeSeconds).toBe(8 * 3600);

    const other = sessions.issue();
    expect(other.session.nonce).not.toBe(session.nonce);
    expect(other.session.csrf).not.toBe(session.csrf);
  });

  it('refuses the cookie once the session has expired', () => {
    let clock = T0;
    const sessions = new ConsoleSessions(TOKEN, { ttlMs: 60_000, now: () => clock });
    const { cookie } = sessions.issue();
    clock = T0 + 59_999;
    expect(sessions.verify(cookie)).not.toBeNull();
    clock = T0 + 60_000;
    expect(sessions.verify(cookie)).toBeNull();
  });

  it('refuses a forged cookie: a changed expiry or nonce, a signature from another key, garbage', () => {
    const sessions = new ConsoleSessions(TOKEN, { now: () => T0 });
    const { cookie } = sessions.issue();
    const [exp, nonce, sig] = cookie.split('.') as [string, string, string];
    expect(sessions.verify(`${Number(exp) + 3_600_000}.${nonce}.${sig}`)).toBeNull(); // a longer life
    // Its last character changed (to A, or to B when it was an A: 1 run in 64 otherwise changed nothing).
    expect(sessions.verify(`${exp}.${nonce.slice(0, -1)}${nonce.endsWith('A') ? 'B' : 'A'}.${sig}`)).toBeNull();
    expect(sessions.verify(`${exp}.${nonce}.${sig.slice(0, -2)}`)).toBeNull();
    const forger = new ConsoleSessions('a-guessed-token', { now: () => T0 });
    const forged = forger.issue().cookie;
    expect(sessions.verify(forged)).toBeNull();
    for (const junk of [undefined, '', 'x', `${exp}.${nonce}`, `${cookie}.extra`, `${exp}.${nonce}.${sig}<script>`]) {
      expect(sessions.verify(junk)).toBeNull();
    }
  });

  it('logs every session out when the admin token changes', () => {
    const before = new ConsoleSessions(TOKEN, { now: () => T0 });
    const { cookie } = before.issue();
    const after = new ConsoleSessions('a-new-admin-token', { now: () => T0 });
    expect(after.verify(cookie)).toBeNull();
    // The same token again (another replica, a restart) accepts it: nothing is kept in memory.
    expect(new ConsoleSessions(TOKEN, { now: () => T0 }).verify(cookie)).not.toBeNull();
  });
});

describe('ConsoleSessions: the CSRF token', () => {
  it("accepts a form's _csrf only when it is this session's", () => {
    const sessions = new ConsoleSessions(TOKEN, { now: () => T0 });
    const mine = sessions.issue().session;
    const theirs = sessions.issue().session;
    expect(sessions.checkCsrf(mine, mine.csrf)).toBe(true);
    expect(sessions.checkCsrf(mine, theirs.csrf)).toBe(false);
    expect(sessions.checkCsrf(mine, undefined)).toBe(false);
    expect(sessions.checkCsrf(mine, '')).toBe(false);
    expect(sessions.checkCsrf(mine, mine.csrf.slice(1))).toBe(false);
  });

  it('derives the same CSRF token for a session on every replica with the same admin token', () => {
    const a = new ConsoleSessions(TOKEN, { now: () => T0 });
    const { cookie, session } = a.issue();
    expect(new ConsoleSessions(TOKEN, { now: () => T0 }).verify(cookie)?.csrf).toBe(session.csrf);
    expect(new ConsoleSessions('another-token', { now: () => T0 }).verify(cookie)).toBeNull();
  });
});
