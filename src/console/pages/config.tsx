/** @jsxImportSource hono/jsx */
/** The console's Config page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function configPageRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/config', (c) =>
    c.html(
      <Layout title="Config" active="/console/config" csrf={c.get('session').csrf}>
        <h1>Config</h1>
      </Layout>,
    ),
  );
  return app;
}
