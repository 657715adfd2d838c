/** The admin API: dead letters, replay, backfill, disabled destinations. Bearer ADMIN_TOKEN. */
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { z } from 'zod';
import type { AppDeps } from './app.js';
import { CallbackError } from './app.js';
import type { DeliveryFilter } from '../spool/spool.js';

const FilterSchema = z
  .object({
    ids: z.array(z.number().int()).optional(),
    destination: z.string().optional(),
    event_id: z.string().optional(),
    message_key: z.string().optional(),
    code: z.string().optional(),
    since: z.iso.datetime().optional(),
    until: z.iso.datetime().optional(),
    limit: z.number().int().positive().optional(),
    state: z.enum(['dead', 'done']).optional(),
    all: z.boolean().optional(),
  })
  .strict();

export function toFilter(f: z.infer<typeof FilterSchema>): DeliveryFilter {
  return {
    ids: f.ids,
    destination: f.destination,
    eventId: f.event_id,
    messageKey: f.message_key,
    code: f.code,
    since: f.since ? Date.parse(f.since) : undefined,
    until: f.until ? Date.parse(f.until) : undefined,
    limit: f.limit,
  };
}

function isEmpty(f: DeliveryFilter): boolean {
  return Object.values(f).every((v) => v === undefined);
}

export function adminRoutes(deps: AppDeps): Hono {
  const admin = new Hono();
  const { spool, config } = deps;
  admin.use('*', async function adminGate(c, next) {
    if (!deps.adminToken) throw new CallbackError(404, 'admin_disabled', 'the admin API is off: set ADMIN_TOKEN to enable it');
    return next();
  });
  admin.use('*', (c, next) => bearerAuth({ token: deps.adminToken! })(c, next));

  async function readFilter(req: Request) {
    const text = await req.text();
    const parsed = FilterSchema.safeParse(text.trim() ? JSON.parse(text) : {});
    if (!parsed.success) {
      throw new CallbackError(400, 'invalid_filter', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    return parsed.data;
  }

  const limitOf = (v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new CallbackError(400, 'invalid_filter', `limit: "${v}" is not a positive whole number`);
    return n;
  };

  admin.get('/dead-letters', (c) => {
    const q = c.req.query();
    const rows = spool.listDeliveries('dead', {
      destination: q.destination,
      eventId: q.event_id,
      code: q.code,
      limit: limitOf(q.limit, 100),
    });
    return c.json({ dead_letters: rows });
  });

  admin.post('/replay', async (c) => {
    const f = await readFilter(c.req.raw).catch((err) => {
      if (err instanceof CallbackError) throw err;
      throw new CallbackError(400, 'invalid_filter', 'the body is not valid JSON');
    });
    const filter = toFilter(f);
    if (isEmpty(filter) && !f.all) throw new CallbackError(400, 'invalid_filter', 'name what to replay, or send {"all": true}');
    const replayed = spool.replay(filter, f.state ?? 'dead');
    deps.dispatcher?.wakeAll();
    return c.json({ replayed });
  });

  admin.post('/backfill', async (c) => {
    const f = await readFilter(c.req.raw).catch((err) => {
      if (err instanceof CallbackError) throw err;
      throw new CallbackError(400, 'invalid_filter', 'the body is not valid JSON');
    });
    const to = f.destination;
    if (!to || !(config.topics.has(to) || config.webhooks.has(to))) {
      throw new CallbackError(400, 'invalid_filter', `"destination" must name a configured destination (${[...config.topics.keys(), ...config.webhooks.keys()].join(', ')})`);
    }
    if (f.ids || f.code) throw new CallbackError(400, 'invalid_filter', 'backfill selects events: use event_id, message_key, since, until, limit');
    const { eventId, messageKey, since, until, limit } = toFilter(f);
    const added = spool.backfill(to, { eventId, messageKey, since, until, limit });
    deps.dispatcher?.wakeAll();
    return c.json({ added });
  });

  admin.get('/rejected', (c) => c.json({ rejected: spool.listRejected(limitOf(c.req.query('limit'), 50)) }));
  admin.get('/destinations', (c) =>
    c.json({ counts: spool.counts(), disabled: Object.fromEntries(spool.disabledDestinations()), circuits: deps.dispatcher?.status() ?? {} }),
  );
  admin.post('/destinations/:ref/enable', (c) => {
    const enabled = spool.enableDestination(c.req.param('ref'));
    deps.dispatcher?.wakeAll();
    return c.json({ enabled });
  });
  return admin;
}
