/** @jsxImportSource hono/jsx */
/** The console's message_id:Message page (to be built). */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';

export function messageRoutes(_deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/messages/', (c) =>
    c.html(
      <Layout title="message_id:Message" active="/console/messages/" csrf={c.get('session').csrf}>
        <h1>message_id:Message</h1>
      </Layout>,
    ),
  );
  return app;
}
