/** @jsxImportSource hono/jsx */
/**
 * The frame of every console page: the navigation, the stylesheet and the script. Everything a
 * page shows goes through JSX, which escapes text, so a callback's fields are always shown as text.
 */
import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import { CSRF_FIELD } from './session.js';

/** The console's pages, for the navigation and for links between pages. */
export const PAGES = [
  { path: '/console/overview', title: 'Overview' },
  { path: '/console/events', title: 'Events' },
  { path: '/console/dead-letters', title: 'Dead letters' },
  { path: '/console/refused', title: 'Refused' },
  { path: '/console/try', title: 'Try a payload' },
  { path: '/console/config', title: 'Config' },
] as const;

export interface LayoutProps {
  title: string;
  /** The path of the page, to mark it in the navigation. */
  active?: string;
  /** The session's CSRF token (the logout form carries it); absent on the login page. */
  csrf?: string;
  /** Extra scripts from /console/assets (the overview's charts). */
  scripts?: readonly string[];
  styles?: readonly string[];
  children?: Child;
}

/** A whole page. @example c.html(<Layout title="Events" active="/console/events" csrf={s.csrf}>...</Layout>) */
export function Layout({ title, active, csrf, scripts = [], styles = [], children }: LayoutProps) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${title} · Kaleyra callback router`}</title>
          {/* No favicon request: the console has none to serve. */}
          <link rel="icon" href="data:," />
          <link rel="stylesheet" href="/console/assets/console.css" />
          {styles.map((s) => (
            <link rel="stylesheet" href={`/console/assets/${s}`} />
          ))}
          <script src="/console/assets/console.js" defer></script>
          {scripts.map((s) => (
            <script src={`/console/assets/${s}`} defer></script>
          ))}
        </head>
        <body>
          <header class="top">
            <span class="brand">Kaleyra callback router</span>
            {csrf !== undefined && (
              <>
                <nav>
                  {PAGES.map((p) => (
                    <a href={p.path} class={active === p.path ? 'active' : undefined}>
                      {p.title}
                    </a>
                  ))}
                </nav>
                <form method="post" action="/console/logout">
                  <CsrfField csrf={csrf} />
                  <button type="submit" class="secondary">
                    Log out
                  </button>
                </form>
              </>
            )}
          </header>
          <main>{children}</main>
        </body>
      </html>
    </>
  );
}

/** The hidden field every state-changing form carries. */
export function CsrfField({ csrf }: { csrf: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={csrf} />;
}

/** A message at the top of a page after an action: what it touched, or why it did not. */
export function Notice({ kind, children }: { kind: 'ok' | 'bad'; children?: Child }) {
  return (
    <div class={`notice ${kind}`} role="status">
      {children}
    </div>
  );
}
