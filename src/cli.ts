/**
 * `kcr` — the operator's command line: tail a topic, print the event schema, check a config,
 * list and replay dead letters, backfill a destination. Run with `npm run cli -- <command>`.
 */
import { parseArgs } from 'node:util';
import { consumeDeliveryEvents, formatEventLine } from './consume/consumer.js';
import { deliveryEventJsonSchema } from './event.js';
import { ConfigError } from './errors.js';
import { configPath, loadRoutes } from './route/load.js';
import { loadSettings } from './settings.js';
import { Spool, type DeliveryFilter } from './spool/spool.js';
import { Intake } from './ingest/intake.js';
import { silentLogger } from './log.js';
import { Metrics } from './metrics.js';
import { matchRoutes } from './route/match.js';

const HELP = `kcr <command> [options]

  tail <topic...>        print delivery events from Kafka as readable lines
                         --brokers h:p[,h:p] (default KAFKA_BROKERS)  --from-beginning  --json  --group ID
  schema                 print the delivery event's JSON Schema
  check                  validate the routes config (--config path, or ROUTES_CONFIG)
  dead                   list dead letters    --destination REF --event ID --code CODE --limit N
  replay                 put dead letters back in the queue
                         --id N (repeatable) | --destination REF | --event ID | --code CODE | --since ISO | --until ISO | --all
                         --delivered   replay delivered events instead (re-send)
  backfill --to REF      send stored events (within retention) to a destination they did not go to
                         --since ISO --until ISO --limit N
  rejected               list refused callbacks with their payloads  --profile NAME --since ISO --limit N
  rejected replay        re-ingest refused callbacks after a config fix (a key, a field map), as if they
                         had just arrived: --profile NAME --since ISO --until ISO --id N | --all
  enable REF             re-enable a destination disabled by a 410
  stats                  deliveries per destination and state

The spool is DATA_DIR/spool.db (default ./data/spool.db).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      brokers: { type: 'string' },
      'from-beginning': { type: 'boolean' },
      json: { type: 'boolean' },
      group: { type: 'string' },
      config: { type: 'string' },
      destination: { type: 'string' },
      to: { type: 'string' },
      event: { type: 'string' },
      code: { type: 'string' },
      id: { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean' },
      delivered: { type: 'boolean' },
      profile: { type: 'string' },
    },
  });
  const out = (s: string): void => void process.stdout.write(`${s}\n`);

  switch (command) {
    case 'schema':
      out(JSON.stringify(deliveryEventJsonSchema(), null, 2));
      return 0;
    case 'check': {
      const path = values.config ?? configPath(process.argv);
      const cfg = await loadRoutes(path);
      out(`${path}: ok (${cfg.table.rules.length} rules, ${cfg.topics.size} topics, ${cfg.webhooks.size} webhooks)`);
      return 0;
    }
    case 'tail': {
      const brokers = (values.brokers ?? process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
      if (brokers.length === 0 || positionals.length === 0) {
        process.stderr.write('tail needs a topic and --brokers (or KAFKA_BROKERS)\n');
        return 2;
      }
      const c = await consumeDeliveryEvents({
        brokers,
        groupId: values.group ?? `kcr-tail-${process.pid}-${Date.now()}`,
        topics: positionals,
        fromBeginning: values['from-beginning'] ?? false,
        onEvent: (e, meta) => out(values.json ? JSON.stringify(e) : `${meta.topic}[${meta.partition}]@${meta.offset} ${formatEventLine(e)}`),
        onInvalid: (err, meta, value) => out(`${meta.topic}[${meta.partition}]@${meta.offset} NOT A DELIVERY EVENT: ${value.slice(0, 200)}`),
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await c.stop();
      return 0;
    }
  }

  // Re-ingest makes events, so the spool must plan their deliveries with the config's rules.
  const reingest = command === 'rejected' && positionals[0] === 'replay';
  const config = reingest ? await loadRoutes(values.config ?? configPath(process.argv)) : null;
  const spool = new Spool({ path: loadSettings().spoolPath }, config ? (e) => matchRoutes(e, config.table) : undefined);
  try {
    const filter: DeliveryFilter = {
      ids: values.id?.map(Number),
      destination: values.destination,
      eventId: values.event,
      code: values.code,
      since: values.since ? Date.parse(values.since) : undefined,
      until: values.until ? Date.parse(values.until) : undefined,
      limit: values.limit ? Number(values.limit) : undefined,
    };
    switch (command) {
      case 'dead': {
        const rows = spool.listDeliveries('dead', filter);
        for (const r of rows) {
          out(`#${r.id} ${r.destination} event=${r.event_id} msg=${r.message_key} attempts=${r.attempts} ${r.last_code}: ${r.last_error} (${new Date(r.updated_at).toISOString()})`);
        }
        out(`${rows.length} dead letter(s)`);
        return 0;
      }
      case 'replay': {
        const named = Object.values(filter).some((v) => v !== undefined);
        if (!named && !values.all) {
          process.stderr.write('replay: name what to replay (--id, --destination, --event, --code, --since/--until) or pass --all\n');
          return 2;
        }
        const n = spool.replay(filter, values.delivered ? 'done' : 'dead');
        out(`${n} deliver${n === 1 ? 'y' : 'ies'} queued again; a running router picks them up within a second`);
        return 0;
      }
      case 'backfill': {
        if (!values.to) {
          process.stderr.write('backfill needs --to <destination ref>\n');
          return 2;
        }
        const cfg = await loadRoutes(values.config ?? configPath(process.argv));
        if (!cfg.topics.has(values.to) && !cfg.webhooks.has(values.to)) {
          process.stderr.write(`backfill: ${values.to} is not a destination of the config\n`);
          return 2;
        }
        const n = spool.backfill(values.to, { eventId: filter.eventId, since: filter.since, until: filter.until, limit: filter.limit });
        out(`${n} deliver${n === 1 ? 'y' : 'ies'} to ${values.to} queued`);
        return 0;
      }
      case 'rejected': {
        const which = { ids: filter.ids, profile: values.profile, since: filter.since, until: filter.until };
        if (positionals[0] === 'replay') {
          if (Object.values(which).every((v) => v === undefined) && !values.all) {
            process.stderr.write('rejected replay: name what to re-ingest (--profile, --since/--until, --id) or pass --all\n');
            return 2;
          }
          const settings = loadSettings();
          const intake = new Intake({ config: config!, spool, metrics: new Metrics(), logger: silentLogger, sentTimeZone: settings.sentTimeZone });
          const r = await intake.reingestRejected({ ...which, limit: filter.limit ?? 10_000 });
          for (const f of r.refused) out(`#${f.id} still refused: ${f.error}: ${f.message}`);
          out(`${r.accepted} of ${r.considered} accepted (${r.duplicates} as resends); a running router delivers them within a second`);
          return r.refused.length > 0 ? 1 : 0;
        }
        for (const r of spool.listRejected({ ...which, limit: filter.limit ?? 50 })) {
          const how = r.method ? `${r.method} ` : '';
          const replayed = r.replayed_event_id ? ` (re-ingested as ${r.replayed_event_id})` : '';
          out(`#${r.id} ${new Date(r.received_at).toISOString()} ${r.status_code} ${how}profile=${r.profile} ${r.reason}${replayed}`);
          out(`    ${(r.query ? `?${r.query} ` : '') + r.body.slice(0, 500)}`);
        }
        return 0;
      }
      case 'enable':
        out(spool.enableDestination(positionals[0] ?? '') ? `${positionals[0]} enabled` : `${positionals[0]} was not disabled`);
        return 0;
      case 'stats':
        for (const r of spool.counts()) out(`${r.destination}\t${r.state}\t${r.n}`);
        for (const [ref, d] of spool.disabledDestinations()) out(`${ref}\tDISABLED since ${new Date(d.disabledAt).toISOString()}: ${d.reason}`);
        return 0;
      default:
        out(HELP);
        return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
  } finally {
    spool.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`kcr: ${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
