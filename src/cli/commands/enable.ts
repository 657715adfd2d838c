/** `kcr enable`: a destination a 410 disabled, delivering again. */
import type { Command } from '../command.js';

export const enable: Command = {
  name: 'enable',
  summary: 're-enable a destination disabled by a 410',
  positional: { name: 'REF', field: 'ref' },
  options: [],
  async run({ input }, ctx) {
    const ref = String(input.ref);
    ctx.out(ctx.operations().enable(input).enabled ? `${ref} enabled` : `${ref} was not disabled`);
    return 0;
  },
};
