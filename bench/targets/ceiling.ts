/**
 * The ceiling: bare Hono on @hono/node-server, reading the body and answering JSON, nothing
 * else. What the router could do at best on this machine with this HTTP stack. PORT from env.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/callbacks/:profile', async (c) => {
  await c.req.text();
  return c.json({ status: 'accepted' });
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
