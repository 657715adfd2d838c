/**
 * `kcr show`: what happened to one message, for a person: one line per report received and per
 * delivery attempt, in time order, then each delivery's state and the message's. `--json` prints
 * what GET /admin/messages/<id> answers.
 */
import type { MessageTimeline, TimelineCallback } from '../../spool/timeline.js';
import type { Command } from '../command.js';
import { OPTIONS } from './options.js';

export const show: Command = {
  name: 'show',
  summary: 'what happened to one message: its reports, the rules they matched, every delivery attempt',
  details: 'MESSAGE is a message_id (<uuid>:<n>) or a message_key (<id>/<recipient> when Kaleyra sent no message_id).',
  positional: { name: 'MESSAGE', field: 'message_id' },
  options: [{ ...OPTIONS.limit, help: 'its newest N reports at most (1 to 1000; default 100)' }, { flag: 'json', type: 'boolean', help: 'print the timeline as JSON, as the admin API answers it' }],
  async run({ input, values }, ctx) {
    const timeline = ctx.operations().messageTimeline(input);
    if (values.json) ctx.out(JSON.stringify(timeline, null, 2));
    else for (const line of formatTimeline(timeline)) ctx.out(line);
    return 0;
  },
};

/** What the rules did with a report, in a few words. */
function routeOf(c: TimelineCallback): string {
  if (c.route === null) return 'rules not recorded';
  const to = c.route.destinations.length ? ` -> ${c.route.destinations.join(', ')}` : ' -> nowhere';
  if (c.route.fallback) return `no rule matched, fallback${to}`;
  return c.route.rules.length ? `rules ${c.route.rules.join(', ')}${to}` : `no rule matched${to}`;
}

/**
 * The timeline as lines for a terminal: reports and attempts in time order (a report before the
 * attempts of the same instant), then the deliveries, then the message's state.
 * @example formatTimeline(timeline)[0] // 'message 3f6d…:0'
 */
export function formatTimeline(t: MessageTimeline): string[] {
  const entries: { at: string; line: string }[] = [];
  for (const c of t.callbacks) {
    const stale = c.stale ? ' STALE' : '';
    entries.push({ at: c.received_at, line: `${c.received_at}  received  ${c.type} "${c.status}"${stale}  event ${c.event_id}  ${routeOf(c)}` });
    for (const d of c.deliveries) {
      for (const a of d.attempts) {
        const status = a.status_code === null ? '' : ` ${a.status_code}`;
        const why = a.error === null ? '' : `  ${a.code}: ${a.error}`;
        entries.push({ at: a.at, line: `${a.at}  attempt   ${d.destination} #${a.attempt} ${a.outcome}${status}  ${a.latency_ms} ms${why}` });
      }
    }
  }
  // A stable sort keeps each report ahead of its own attempts when their times are equal.
  entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const lines = [`message ${t.message_key}`, ...(t.truncated ? [`(only its newest ${t.callbacks.length} reports)`] : []), ...entries.map((e) => e.line)];
  lines.push('deliveries:');
  const deliveries = t.callbacks.flatMap((c) => c.deliveries.map((d) => ({ c, d })));
  if (deliveries.length === 0) lines.push('  none');
  for (const { c, d } of deliveries) {
    const when = d.state === 'pending' ? `next try ${d.next_at}` : `since ${d.updated_at}`;
    const last = d.last_code === null ? '' : `, last ${d.last_code}: ${d.last_error}`;
    lines.push(`  ${d.destination}  ${d.state} ${when} (${d.attempts.length} attempt(s)${last})  event ${c.event_id}`);
  }
  const s = t.state;
  lines.push(s ? `state: ${s.status} (${s.final ? 'final' : 'not final'}) since ${s.updated_at}${s.final_missing_at ? `; final report announced missing at ${s.final_missing_at}` : ''}` : 'state: unknown (no report advanced it, or retention purged it)');
  return lines;
}
