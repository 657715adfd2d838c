/** @jsxImportSource hono/jsx */
/**
 * The console's Events page: the recent events newest first, narrowed by a GET form (so a
 * filtered view is a link), paged by keyset ("Older" / "Newer" carry a `before` / `after` seq).
 * The same list as JSON for scripts with `accept: application/json`.
 */
import { Hono } from 'hono';
import { STATUS_CLASSES } from '../../vocabulary/status.js';
import { DELIVERY_OUTCOMES, MAX_PAGE, type DeliveryOutcome, type EventListFilter, type EventListPage, type EventListResult, type EventListRow } from '../../spool/event-list.js';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout, Notice } from '../layout.js';
import { deadLetterHref } from './message.js';

/** The query string's filter fields, named as the events' own fields (`delivery`: the outcome). */
const TEXT_FIELDS = ['status', 'status_class', 'iso_code', 'profile', 'message_id', 'request_id'] as const;
const FILTER_FIELDS = [...TEXT_FIELDS, 'from', 'to', 'delivery'] as const;

export interface EventQuery {
  filter: EventListFilter;
  page: EventListPage;
  /** The filter fields as typed, to fill the form again and to carry into the pager's links. */
  values: Partial<Record<(typeof FILTER_FIELDS)[number], string>>;
  /** What could not be read; the list is not shown while there are any. */
  problems: string[];
}

/** What the pager's links carry: the filters as typed, and the page size when one was asked. */
type PagerValues = EventQuery['values'] & { limit?: string };

/**
 * A time from the form: `datetime-local` sends no zone (read as UTC, as the page says); a full
 * ISO 8601 time with its zone is read as written.
 * @example parseTime('2026-11-01T10:00') // Date.parse('2026-11-01T10:00:00Z')
 */
export function parseTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(text)) return undefined;
  const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(text) || !text.includes('T') ? text : `${text}Z`;
  const ms = Date.parse(zoned.includes('T') ? zoned : `${zoned}T00:00:00Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Reads the page's query string into a filter and a page; empty fields mean "any".
 * @example parseEventQuery({ iso_code: 'in', before: '1200' }) // filter { iso_code: 'IN' }, page { before: 1200 }
 */
export function parseEventQuery(query: Record<string, string>): EventQuery {
  const values: EventQuery['values'] = {};
  const filter: EventListFilter = {};
  const problems: string[] = [];
  for (const name of FILTER_FIELDS) {
    const value = query[name]?.trim();
    if (value) values[name] = value.slice(0, 200);
  }
  for (const name of TEXT_FIELDS) if (values[name]) filter[name] = values[name];
  if (filter.iso_code) filter.iso_code = filter.iso_code.toUpperCase();
  for (const name of ['from', 'to'] as const) {
    if (!values[name]) continue;
    filter[name] = parseTime(values[name]);
    if (filter[name] === undefined) problems.push(`${name}: not a time (write 2026-11-01T10:00, read as UTC, or a full ISO 8601 time)`);
  }
  if (values.delivery) {
    if ((DELIVERY_OUTCOMES as readonly string[]).includes(values.delivery)) filter.delivery = values.delivery as DeliveryOutcome;
    else problems.push(`delivery: one of ${DELIVERY_OUTCOMES.join(', ')}`);
  }
  const page: EventListPage = {};
  for (const name of ['before', 'after', 'limit'] as const) {
    const text = query[name];
    if (text === undefined || text === '') continue;
    const n = Number(text);
    if (Number.isSafeInteger(n) && n > 0 && (name !== 'limit' || n <= MAX_PAGE)) page[name] = n;
    else problems.push(`${name}: a whole number${name === 'limit' ? ` from 1 to ${MAX_PAGE}` : ' (a cursor from the Older / Newer links)'}`);
  }
  return { filter, page, values, problems };
}

/**
 * A time as a `datetime-local` field takes it (UTC, no zone), so a time sent with its zone in a
 * link stays in the form when it is sent again.
 * @example formTime(Date.parse('2026-11-01T12:00:00+02:00')) // '2026-11-01T10:00:00'
 */
function formTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString().replace(/(\.000)?Z$/, '');
}

/** A link to this page with these filters and page size (and a cursor). */
function eventsHref(values: PagerValues, extra: Record<string, string | number> = {}): string {
  const params = new URLSearchParams(values as Record<string, string>);
  for (const [k, v] of Object.entries(extra)) params.set(k, String(v));
  const qs = params.toString();
  return `/console/events${qs ? `?${qs}` : ''}`;
}

/** A message's console page. @example messageHref('3f6d…:1') // '/console/messages/3f6d…%3A1' */
export function messageHref(messageKey: string): string {
  return `/console/messages/${encodeURIComponent(messageKey)}`;
}

export function eventRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/events', (c) => {
    const query = parseEventQuery(c.req.query());
    const json = c.req.header('accept')?.includes('application/json') ?? false;
    if (query.problems.length > 0 && json) return c.json({ error: 'invalid_filter', message: query.problems.join('; ') }, 400);
    const result = query.problems.length === 0 ? deps.spool.eventList.page(query.filter, query.page) : undefined;
    if (json) return c.json(result);
    const profiles = [...deps.config.current.profiles.keys()];
    return c.html(
      <Layout title="Events" active="/console/events" csrf={c.get('session').csrf}>
        <h1>Events</h1>
        {deps.cluster && (
          <p class="muted" id="cluster-note">
            Cluster mode: the events this replica's spool keeps (the callbacks it committed locally, and the dead letters copied from the cluster's
            dead-letter topic). Other replicas show their own.
          </p>
        )}
        <FilterForm values={{ ...query.values, from: formTime(query.filter.from) ?? query.values.from, to: formTime(query.filter.to) ?? query.values.to }} profiles={profiles} />
        {query.problems.length > 0 && <Notice kind="bad">{query.problems.join('; ')}</Notice>}
        {result && <EventTable result={result} values={query.page.limit ? { ...query.values, limit: String(query.page.limit) } : query.values} filtered={Object.keys(query.values).length > 0} />}
      </Layout>,
      query.problems.length > 0 ? 400 : 200,
    );
  });
  return app;
}

function FilterForm({ values, profiles }: { values: EventQuery['values']; profiles: string[] }) {
  return (
    <form method="get" action="/console/events" class="filters card" id="event-filters">
      <label>
        Status
        <input name="status" value={values.status ?? ''} placeholder="Undelivered" size={12} />
      </label>
      <label>
        Status class
        <select name="status_class">
          <option value="">any</option>
          {STATUS_CLASSES.map((s) => (
            <option value={s} selected={values.status_class === s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Country (ISO code)
        <input name="iso_code" value={values.iso_code ?? ''} placeholder="IN" size={4} maxlength={2} />
      </label>
      <label>
        Profile
        <input name="profile" value={values.profile ?? ''} list="event-profiles" size={10} />
        <datalist id="event-profiles">
          {profiles.map((p) => (
            <option value={p} />
          ))}
        </datalist>
      </label>
      <label>
        Message id
        <input name="message_id" value={values.message_id ?? ''} size={24} />
      </label>
      <label>
        Request id
        <input name="request_id" value={values.request_id ?? ''} size={24} />
      </label>
      <label>
        From (UTC)
        <input type="datetime-local" name="from" value={values.from ?? ''} step="any" />
      </label>
      <label>
        To (UTC)
        <input type="datetime-local" name="to" value={values.to ?? ''} step="any" />
      </label>
      <label>
        Deliveries
        <select name="delivery">
          <option value="">any</option>
          <option value="dead" selected={values.delivery === 'dead'}>
            any dead
          </option>
          <option value="pending" selected={values.delivery === 'pending'}>
            any pending
          </option>
          <option value="done" selected={values.delivery === 'done'}>
            all done
          </option>
          <option value="none" selected={values.delivery === 'none'}>
            none planned
          </option>
        </select>
      </label>
      <button type="submit">Filter</button>
      <a href="/console/events" class="clear-filters">
        Clear
      </a>
    </form>
  );
}

const STATE_BADGE = { done: 'ok', pending: 'warn', dead: 'bad' } as const;
const CLASS_BADGE: Record<string, string> = { delivered: 'ok', pending: 'warn', unknown: '' };

function EventTable({ result, values, filtered }: { result: EventListResult; values: PagerValues; filtered: boolean }) {
  if (result.rows.length === 0) {
    return (
      <p class="card muted" id="no-events">
        {filtered ? 'No event matches these filters.' : 'No events yet.'}
      </p>
    );
  }
  return (
    <>
      <div class="card">
        <table id="events-table" class="events">
          <thead>
            <tr>
              <th>Time (UTC)</th>
              <th class="hide-phone">Profile</th>
              <th>Status</th>
              <th>Country</th>
              <th>Message</th>
              <th class="hide-phone">Request id</th>
              <th class="hide-phone">Description</th>
              <th>Deliveries</th>
            </tr>
          </thead>
          <tbody>
            {result.rows.map((r) => (
              <EventRow row={r} />
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {result.newer !== null && (
          <a href={eventsHref(values, { after: result.newer })} rel="prev" id="events-newer">
            ← Newer
          </a>
        )}
        {result.older !== null && (
          <a href={eventsHref(values, { before: result.older })} rel="next" id="events-older">
            Older →
          </a>
        )}
      </nav>
    </>
  );
}

function EventRow({ row: r }: { row: EventListRow }) {
  return (
    <tr data-event-id={r.event_id} data-testid="event-row">
      <td class="mono nowrap" data-label="Time">{r.received_at.replace('T', ' ').replace(/\.\d+Z$/, '')}</td>
      <td class="hide-phone">{r.profile}</td>
      <td data-label="Status">
        {r.status} <span class={`badge ${CLASS_BADGE[r.status_class] ?? 'bad'}`}>{r.status_class}</span>
        {r.stale && <span class="badge muted">stale</span>}
      </td>
      <td data-label="Country">{r.iso_code ?? '—'}</td>
      <td class="mono wrap-id" data-label="Message">
        <a href={messageHref(r.message_key)} title="The message's timeline">
          {r.message_id ?? r.message_key}
        </a>
      </td>
      <td class="mono wrap-id hide-phone">{r.request_id ?? '—'}</td>
      <td class="hide-phone description">{r.description ? (r.description.length > 120 ? `${r.description.slice(0, 119)}…` : r.description) : ''}</td>
      <td data-label="Deliveries">
        {r.deliveries.length === 0 && <span class="muted">none</span>}
        {r.deliveries.map((d) =>
          d.state === 'dead' ? (
            <a href={deadLetterHref(r.event_id, d.destination)} class="badge bad" title="Its dead letter">
              {d.destination} dead
            </a>
          ) : (
            <span class={`badge ${STATE_BADGE[d.state]}`}>
              {d.destination} {d.state}
            </span>
          ),
        )}
      </td>
    </tr>
  );
}
