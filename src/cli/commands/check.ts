/** `kcr check`: loads and validates the routes config as the router would at start-up. */
import { destinationRefs } from '../../route/compile.js';
import { configPath } from '../../route/load.js';
import type { Command } from '../command.js';
import { OPTIONS } from './options.js';

export const check: Command = {
  name: 'check',
  summary: 'validate the routes config (--config path, or ROUTES_CONFIG)',
  details: 'A problem is reported naming the rule and the field, with exit code 2.',
  options: [OPTIONS.config],
  async run({ values }, ctx) {
    const path = configPath(typeof values.config === 'string' ? ['--config', values.config] : [], ctx.env);
    const cfg = await ctx.loadConfig(path);
    const n = (kind: string) => destinationRefs(cfg, kind).length;
    ctx.out(`${path}: ok (${cfg.table.rules.length} rules, ${n('kafka')} topics, ${n('webhook')} webhooks)`);
    return 0;
  },
};
