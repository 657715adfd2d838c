/** `kcr replay`: dead letters (or, with --delivered, delivered events) back in the queue. */
import type { Command } from '../command.js';
import { OPTIONS, deliveries } from './options.js';

export const replay: Command = {
  name: 'replay',
  summary: 'put dead letters back in the queue',
  details: 'Name what to replay, or pass --all. A running router picks them up within a second.',
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
  ],
  async run({ input }, ctx) {
    const { replayed } = ctx.operations().replay(input);
    ctx.out(`${deliveries(replayed)} queued again; a running router picks them up within a second`);
    return 0;
  },
};
