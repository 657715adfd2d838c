/** `kcr backfill`: stored events sent to a destination they did not go to (a new webhook, a new topic). */
import { backfillRequest } from '../../ops/operations.js';
import type { Command } from '../command.js';
import { OPTIONS, deliveries } from './options.js';
import { progressOn } from './progress.js';

export const backfill: Command = {
  name: 'backfill',
  summary: 'send stored events (within retention) to a destination they did not go to',
  details: 'The destination must be one the routes config declares. It works in chunks of 500, printing progress on stderr; --dry-run counts them and changes nothing.',
  options: [
    { flag: 'to', type: 'string', value: 'REF', field: 'destination', help: 'the destination to send them to (required)' },
    OPTIONS.event,
    OPTIONS.messageKey,
    OPTIONS.since,
    OPTIONS.until,
    { ...OPTIONS.limit, help: 'at most N events, oldest first (1 to 1000)' },
    OPTIONS.config,
    OPTIONS.dryRun,
  ],
  async run({ input, values }, ctx) {
    // The arguments are checked before the config is loaded: a typo costs no import.
    const request = backfillRequest(input);
    const config = await ctx.loadConfig(values.config as string | undefined);
    const r = await ctx.operations(config).backfill(request, progressOn(ctx, 'added'));
    if (r.dry_run) ctx.out(`dry run: ${deliveries(r.would_add ?? 0)} to ${request.destination} would be queued; nothing changed`);
    else ctx.out(`${deliveries(r.added)} to ${request.destination} queued`);
    return 0;
  },
};
