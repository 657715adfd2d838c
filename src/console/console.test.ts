/**
 * The console's door: off without ADMIN_TOKEN, a login that sets the session cookie, and forms
 * read only up to a bound (the CSRF check reads the whole form, so an unbounded one would let
 * anyone make the router buffer any amount).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../http/app.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';

const TOKEN = 'console-door-admin-token';
const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { events: 'e' } }, rules: [{ name: 'all', to: ['kafka:events'] }] }, 'test');
const spools: Spool[] = [];

function app(adminToken?: string) {
  const spool = new Spool({ path: ':memory:', plan: (e) => matchRoutes(e, config.table) });
  spools.push(spool);
  return createApp({ config, spool, local: spool, logger: silentLogger, metrics: new Metrics(), adminToken, maxBodyBytes: 64 * 1024 });
}

afterEach(() => {
  for (const s of spools.splice(0)) s.close();
});

describe('the console door', () => {
  it('is off without ADMIN_TOKEN, like the admin API', async () => {
    const res = await app().request('/console');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'console_disabled' });
  });

  it('logs in with the admin token: a session cookie scoped to /console, HttpOnly, SameSite=Strict', async () => {
    const res = await app(TOKEN).request('/console', { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/^kcr_console=[^;]+; Max-Age=28800; Path=\/console; HttpOnly; SameSite=Strict$/);
  });

  it('refuses a form over its bound with 413 before reading it all, logged in or not', async () => {
    const huge = new URLSearchParams({ token: 'x'.repeat(2 * 1024 * 1024) });
    const res = await app(TOKEN).request('/console', { method: 'POST', body: huge });
    expect(res.status).toBe(413);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('sends a strict Content-Security-Policy: scripts from the router only, none inline', async () => {
    const res = await app(TOKEN).request('/console');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  });
});
