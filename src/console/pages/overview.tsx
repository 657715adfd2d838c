/** @jsxImportSource hono/jsx */
/** The console's Overview page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function overviewRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/overview', (c) =>
    c.html(
      <Layout title="Overview" active="/console/overview" csrf={c.get('session').csrf}>
        <h1>Overview</h1>
      </Layout>,
    ),
  );
  return app;
}
