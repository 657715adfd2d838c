/** `kcr dead`: the dead letters, newest first, each with its last error. */
import type { Command } from '../command.js';
import { OPTIONS } from './options.js';

export const dead: Command = {
  name: 'dead',
  summary: 'list dead letters',
  options: [OPTIONS.destination, OPTIONS.event, OPTIONS.messageKey, OPTIONS.code, OPTIONS.since, OPTIONS.until, { ...OPTIONS.limit, help: 'at most N (1 to 1000; default 100)' }],
  async run({ input }, ctx) {
    const rows = ctx.operations().listDeadLetters(input);
    for (const r of rows) {
      ctx.out(`#${r.id} ${r.destination} event=${r.event_id} msg=${r.message_key} attempts=${r.attempts} ${r.last_code}: ${r.last_error} (${new Date(r.updated_at).toISOString()})`);
    }
    ctx.out(`${rows.length} dead letter(s)`);
    return 0;
  },
};
