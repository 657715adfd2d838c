/** `kcr schema`: the delivery event's JSON Schema, as downstream teams validate against it. */
import { deliveryEventJsonSchema } from '../../event.js';
import type { Command } from '../command.js';

export const schema: Command = {
  name: 'schema',
  summary: "print the delivery event's JSON Schema",
  options: [],
  async run(_args, ctx) {
    ctx.out(JSON.stringify(deliveryEventJsonSchema(), null, 2));
    return 0;
  },
};
