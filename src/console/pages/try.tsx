/** @jsxImportSource hono/jsx */
/** The console's Try a payload page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function tryRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/try', (c) =>
    c.html(
      <Layout title="Try a payload" active="/console/try" csrf={c.get('session').csrf}>
        <h1>Try a payload</h1>
      </Layout>,
    ),
  );
  return app;
}
