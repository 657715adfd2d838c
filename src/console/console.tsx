/** @jsxImportSource hono/jsx */
/**
 * The operator console at /console, served by the router behind the admin token: a login form
 * that sets a session cookie, then the pages. State-changing requests need the session's CSRF
 * token and a same-origin Origin; every answer carries a strict Content-Security-Policy (scripts
 * from the router only, no inline script), so a callback's field can never run as script.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { assetRoutes } from './assets.js';
import type { ConsoleDeps, ConsoleEnv } from './deps.js';
import { Layout, Notice } from './layout.js';
import { CSRF_FIELD, SESSION_COOKIE } from './session.js';
import { configPageRoutes } from './pages/config.js';
import { deadLetterRoutes } from './pages/dead-letters.js';
import { eventRoutes } from './pages/events.js';
import { messageRoutes } from './pages/message.js';
import { overviewRoutes } from './pages/overview.js';
import { refusedRoutes } from './pages/refused.js';
import { tryRoutes } from './pages/try.js';

export type { ConsoleDeps } from './deps.js';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Security headers on every console answer. */
const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('content-security-policy', CSP);
  c.res.headers.set('x-content-type-options', 'nosniff');
  // Not no-referrer: under it Chromium sends `Origin: null` on the console's own form posts, which
  // the same-origin check must refuse. same-origin still tells other sites nothing.
  c.res.headers.set('referrer-policy', 'same-origin');
  c.res.headers.set('x-frame-options', 'DENY');
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
};

/** A POST from another site (a missing or foreign Origin with a form) is refused before the CSRF check. */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return origin === undefined;
  const host = c.req.header('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The console's routes, to mount at /console.
 * @example app.route('/console', consoleRoutes({ config, spool, ops, metrics, sessions: new ConsoleSessions(token) }))
 */
export function consoleRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const { sessions } = deps;
  const app = new Hono<ConsoleEnv>();
  app.use('*', securityHeaders);
  // Forms are read whole (the session's CSRF token is in them): bounded before any is read. Room
  // for a pasted payload of MAX_BODY_BYTES, form-encoded (up to three bytes each).
  const maxForm = Math.max(1024 * 1024, 3 * (deps.maxBodyBytes ?? 256 * 1024) + 64 * 1024);
  app.use('*', bodyLimit({ maxSize: maxForm, onError: (c) => c.text(`the form is over the limit of ${maxForm} bytes`, 413) }));
  app.route('/assets', assetRoutes());

  app.get('/', (c) => (sessions.verify(getCookie(c, SESSION_COOKIE)) ? c.redirect('/console/overview') : c.html(<LoginPage />)));
  app.post('/', async (c) => {
    const form = await c.req.parseBody();
    if (!sameOrigin(c) || typeof form.token !== 'string' || !sessions.checkToken(form.token)) {
      return c.html(<LoginPage error="That is not the admin token." />, 401);
    }
    const { cookie } = sessions.issue();
    setCookie(c, SESSION_COOKIE, cookie, {
      path: '/console',
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https',
      maxAge: sessions.maxAgeSeconds,
    });
    return c.redirect('/console/overview', 303);
  });

  // Every other console path needs a session; every POST its CSRF token as well.
  app.use('*', async (c, next) => {
    const session = sessions.verify(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET' && !c.req.header('accept')?.includes('application/json')) return c.redirect('/console', 303);
      return c.json({ error: 'unauthorized', message: 'log in to the console first' }, 401);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const form = await c.req.parseBody();
      const token = form[CSRF_FIELD];
      if (!sameOrigin(c) || !sessions.checkCsrf(session, typeof token === 'string' ? token : undefined)) {
        return c.html(
          <Layout title="Refused" csrf={session.csrf}>
            <Notice kind="bad">This request did not come from a console page (a missing or wrong CSRF token); nothing was changed.</Notice>
          </Layout>,
          403,
        );
      }
    }
    c.set('session', session);
    await next();
  });

  app.post('/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/console' });
    return c.redirect('/console', 303);
  });
  app.route('/', overviewRoutes(deps));
  app.route('/', eventRoutes(deps));
  app.route('/', messageRoutes(deps));
  app.route('/', deadLetterRoutes(deps));
  app.route('/', refusedRoutes(deps));
  app.route('/', tryRoutes(deps));
  app.route('/', configPageRoutes(deps));
  return app;
}

function LoginPage({ error }: { error?: string }) {
  return (
    <Layout title="Log in">
      <div class="card login">
        <h1>Operator console</h1>
        {error && <Notice kind="bad">{error}</Notice>}
        <form method="post" action="/console">
          <label>
            Admin token
            <input type="password" name="token" autocomplete="current-password" required autofocus />
          </label>
          <p>
            <button type="submit">Log in</button>
          </p>
        </form>
        <p class="muted">The token is the router's ADMIN_TOKEN. The session lasts 8 hours.</p>
      </div>
    </Layout>
  );
}
