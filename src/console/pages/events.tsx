/** @jsxImportSource hono/jsx */
/** The console's Events page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function eventRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/events', (c) =>
    c.html(
      <Layout title="Events" active="/console/events" csrf={c.get('session').csrf}>
        <h1>Events</h1>
      </Layout>,
    ),
  );
  return app;
}
