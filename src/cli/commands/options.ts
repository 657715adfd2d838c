/** The options several commands share, each filling the operation's input field of its name. */
import type { CliOption } from '../command.js';

/** "1 delivery", "3 deliveries". */
export const deliveries = (n: number): string => `${n} deliver${n === 1 ? 'y' : 'ies'}`;

/** The options, by the name commands list them under. */
export const OPTIONS = {
  destination: { flag: 'destination', type: 'string', value: 'REF', field: 'destination', help: 'only this destination (kafka:events, webhook:crm)' },
  event: { flag: 'event', type: 'string', value: 'ID', field: 'event_id', help: 'only this event' },
  messageKey: { flag: 'message-key', type: 'string', value: 'KEY', field: 'message_key', help: 'only this message (its message_key)' },
  code: { flag: 'code', type: 'string', value: 'CODE', field: 'code', help: 'only those whose last failure had this code (http_500, timeout)' },
  since: { flag: 'since', type: 'string', value: 'ISO', field: 'since', help: 'received at or after this date-time (2026-11-01T00:00:00Z)' },
  until: { flag: 'until', type: 'string', value: 'ISO', field: 'until', help: 'received before this date-time' },
  limit: { flag: 'limit', type: 'string', value: 'N', field: 'limit', help: 'at most N (1 to 1000)' },
  id: { flag: 'id', type: 'string', multiple: true, value: 'N', field: 'ids', help: 'this one, by id (repeatable)' },
  all: { flag: 'all', type: 'boolean', field: 'all', help: 'all of them, when nothing else is named' },
  profile: { flag: 'profile', type: 'string', value: 'NAME', field: 'profile', help: 'only those sent to this callback profile' },
  dryRun: { flag: 'dry-run', type: 'boolean', field: 'dry_run', as: (on) => (on === true ? true : undefined), help: 'count what it would touch, per destination; change nothing' },
  config: { flag: 'config', type: 'string', value: 'PATH', help: 'the routes config (default ROUTES_CONFIG or ./routes.config.ts)' },
} as const satisfies Record<string, CliOption>;
