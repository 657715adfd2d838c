/** `kcr stats`: deliveries per destination and state, and the destinations disabled. */
import type { Command } from '../command.js';

export const stats: Command = {
  name: 'stats',
  summary: 'deliveries per destination and state',
  options: [],
  async run(_args, ctx) {
    const { counts, disabled } = ctx.operations().stats();
    for (const r of counts) ctx.out(`${r.destination}\t${r.state}\t${r.n}`);
    for (const [ref, d] of Object.entries(disabled)) ctx.out(`${ref}\tDISABLED since ${new Date(d.disabledAt).toISOString()}: ${d.reason}`);
    return 0;
  },
};
