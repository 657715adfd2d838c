/** @jsxImportSource hono/jsx */
/** The console's Dead letters page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function deadLetterRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/dead-letters', (c) =>
    c.html(
      <Layout title="Dead letters" active="/console/dead-letters" csrf={c.get('session').csrf}>
        <h1>Dead letters</h1>
      </Layout>,
    ),
  );
  return app;
}
