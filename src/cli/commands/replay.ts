/** `kcr replay`: dead letters (or, with --delivered, delivered events) back in the queue. */
import type { Command } from '../command.js';
import { OPTIONS, deliveries } from './options.js';
import { perDestination, progressOn } from './progress.js';

export const replay: Command = {
  name: 'replay',
  summary: 'put dead letters back in the queue',
  details:
    'Name what to replay, or pass --all. A running router picks them up within a second. It works in chunks of 500, each its own short transaction, printing progress on stderr; --dry-run counts them per destination and changes nothing.',
  options: [
    OPTIONS.id,
    OPTIONS.destination,
    OPTIONS.event,
    OPTIONS.messageKey,
    OPTIONS.code,
    OPTIONS.since,
    OPTIONS.until,
    { ...OPTIONS.limit, help: 'at most N, oldest first (1 to 1000)' },
    OPTIONS.all,
    { flag: 'delivered', type: 'boolean', field: 'state', as: (on) => (on ? 'done' : undefined), help: 'replay delivered events instead (send them again)' },
    OPTIONS.dryRun,
  ],
  async run({ input }, ctx) {
    const r = await ctx.operations().replay(input, progressOn(ctx, 'replayed'));
    if (r.dry_run) ctx.out(`dry run: ${deliveries(r.would_replay ?? 0)} would be queued again; nothing changed`);
    else ctx.out(`${deliveries(r.replayed)} queued again; a running router picks them up within a second`);
    for (const line of perDestination(r.destinations ?? {})) ctx.out(line);
    return 0;
  },
};
