/**
 * `kcr rejected` and `kcr rejected replay`: refused payloads kept for operators, and taking them
 * in again after a config fix (a key, a field map) as if they had just arrived.
 */
import { reingestRequest } from '../../ops/operations.js';
import type { Command } from '../command.js';
import { OPTIONS } from './options.js';

/** A terminal can wait longer than a request: with no --limit, re-ingest takes up to this many. */
const CLI_REINGEST_LIMIT = 10_000;

export const rejected: Command = {
  name: 'rejected',
  summary: 'list refused callbacks with their payloads',
  options: [OPTIONS.profile, { ...OPTIONS.since, help: 'received at or after this date-time' }, { ...OPTIONS.until, help: 'received before this date-time' }, { ...OPTIONS.limit, help: 'at most N (1 to 1000; default 50)' }],
  async run({ input }, ctx) {
    for (const r of ctx.operations().listRejected(input)) {
      const how = r.method ? `${r.method} ` : '';
      const replayed = r.replayed_event_id ? ` (re-ingested as ${r.replayed_event_id})` : '';
      ctx.out(`#${r.id} ${new Date(r.received_at).toISOString()} ${r.status_code} ${how}profile=${r.profile} ${r.reason}${replayed}`);
      ctx.out(`    ${(r.query ? `?${r.query} ` : '') + r.body.slice(0, 500)}`);
    }
    return 0;
  },
};

export const rejectedReplay: Command = {
  name: 'rejected replay',
  summary: 're-ingest refused callbacks after a config fix, as if they had just arrived',
  details:
    'Name what to re-ingest, or pass --all. Each one accepted is marked with the event it became and is\n' +
    'not taken again; one still refused is listed with why, and the exit code is 1.',
  options: [
    { ...OPTIONS.id, help: 'this refused payload, by id (repeatable)' },
    OPTIONS.profile,
    { ...OPTIONS.since, help: 'received at or after this date-time' },
    { ...OPTIONS.until, help: 'received before this date-time' },
    { ...OPTIONS.limit, help: `at most N, oldest first (1 to 1000; default ${CLI_REINGEST_LIMIT})` },
    OPTIONS.all,
    OPTIONS.config,
  ],
  async run({ input, values }, ctx) {
    // Checked before the config is loaded; the config then plans the new events' deliveries.
    const request = reingestRequest(input);
    const config = await ctx.loadConfig(values.config as string | undefined);
    const r = await ctx.operations(config).reingestRejected(request, CLI_REINGEST_LIMIT);
    for (const f of r.refused) ctx.out(`#${f.id} still refused: ${f.error}: ${f.message}`);
    ctx.out(`${r.accepted} of ${r.considered} accepted (${r.duplicates} as resends); a running router delivers them within a second`);
    return r.refused.length > 0 ? 1 : 0;
  },
};
