/** @jsxImportSource hono/jsx */
/** The console's Refused page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function refusedRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/refused', (c) =>
    c.html(
      <Layout title="Refused" active="/console/refused" csrf={c.get('session').csrf}>
        <h1>Refused</h1>
      </Layout>,
    ),
  );
  return app;
}
