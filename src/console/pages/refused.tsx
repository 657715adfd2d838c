/** @jsxImportSource hono/jsx */
/**
 * The console's Refused page: callbacks the router answered with a 4xx. Those of a known,
 * authenticated profile are kept whole (body shown as text) and can be re-ingested after a
 * config fix, by ticked rows or all matching, after a confirmation that counts them; those
 * refused before proving anything (unknown profile, failed credentials) left only a note.
 */
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import { reingestRequest } from '../../ops/operations.js';
import { MAX_LIMIT, fromText } from '../../ops/schemas.js';
import type { RejectedRow, ReingestSummary } from '../../ops/store.js';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { CsrfField, Layout, Notice } from '../layout.js';
import { Confirm, HiddenFields, confirmed, consoleSpelling, count, filterOf, formFields, listHref, listed, refusalText, selectionOf, when, type Fields, type ListState } from './selection.js';

const PATH = '/console/refused';
/** The admin API's refused-payload filter fields (src/ops/schemas.ts), with the page's labels. */
const LABELS = { profile: 'Profile', since: 'Since (UTC)', until: 'Until (UTC)', limit: 'Show at most' } as const;
const SELECTORS = ['profile', 'since', 'until'] as const;
const SPELLING = consoleSpelling(LABELS);
/** A body longer than this is cut on the page (the CLI and the API give it whole). */
const SHOWN_BODY = 4_000;

type Ctx = Context<ConsoleEnv>;
type Filter = Record<string, string>;


export function refusedRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/refused', (c) => page(c, deps, { filter: filterOf(c.req.query(), [...SELECTORS, 'limit']) }));
  app.post('/refused/reingest', async (c) => reingest(c, deps, await formFields(c)));
  return app;
}

function page(c: Ctx, deps: ConsoleDeps, state: ListState, status: 200 | 400 = 200) {
  const { filter } = state;
  const { rows, notice, status: answered } = listed(() => deps.ops.listRejected(fromText(filter)), state, SPELLING, status);
  const limit = Number(filter.limit ?? 50);
  const pending = rows.filter((r) => r.replayed_event_id === null).length;
  return c.html(
    <Frame c={c} deps={deps}>
      {notice && (
        <Notice kind={notice.kind}>
          {notice.text}
          {notice.detail?.length ? <ul>{notice.detail.map((d) => <li>{d}</li>)}</ul> : null}
        </Notice>
      )}
      <FilterForm filter={filter} profiles={[...deps.config.current.profiles.keys()]} />
      <form method="post" action={`${PATH}/reingest`} id="reingest-form">
        <CsrfField csrf={c.get('session').csrf} />
        <HiddenFields fields={filterOf(filter, SELECTORS)} />
        <div class="card">
          <RefusedTable rows={rows} />
          {rows.length >= limit && <p class="muted">Showing the newest {limit}; more may match. "Re-ingest all matching" takes every one not re-ingested yet.</p>}
        </div>
        <p class="actions">
          <button type="submit" name="scope" value="selected" disabled={pending === 0}>
            Re-ingest selected
          </button>{' '}
          <button type="submit" name="scope" value="matching" class="secondary" disabled={pending === 0}>
            Re-ingest all matching
          </button>
        </p>
      </form>
      <Unstored deps={deps} />
    </Frame>,
    answered,
  );
}

function Frame({ c, deps, children }: { c: Ctx; deps: ConsoleDeps; children?: Child }) {
  return (
    <Layout title="Refused callbacks" active={PATH} csrf={c.get('session').csrf}>
      <h1>Refused callbacks</h1>
      <p class="muted">
        Fix the profile in routes.config.ts (a key, a field map) and reload the config, then re-ingest: each is taken in as if it had just arrived. One still refused stays
        here with its first reason.
      </p>
      {deps.cluster && (
        <p class="muted" id="cluster-note">
          Cluster mode: refused payloads are kept by the replica that refused them, so this list is this replica's; re-ingesting sends them to the intake topic like new
          callbacks.
        </p>
      )}
      {children}
    </Layout>
  );
}

function FilterForm({ filter, profiles }: { filter: Filter; profiles: string[] }) {
  return (
    <form method="get" action={PATH} class="filters card" id="refused-filter">
      <label>
        {LABELS.profile}
        <input type="text" name="profile" value={filter.profile ?? ''} list="profile-names" />
      </label>
      <datalist id="profile-names">
        {profiles.map((p) => (
          <option value={p} />
        ))}
      </datalist>
      {(['since', 'until', 'limit'] as const).map((name) => (
        <label>
          {LABELS[name]}
          <input type="text" name={name} value={filter[name] ?? ''} placeholder={name === 'limit' ? '50' : '2026-11-01 10:00'} />
        </label>
      ))}
      <button type="submit">Filter</button>
      <a href={PATH}>Clear</a>
    </form>
  );
}

/** How it came: method, query string, body, each as text. */
function Payload({ r }: { r: RejectedRow }) {
  const body = r.body.length > SHOWN_BODY ? `${r.body.slice(0, SHOWN_BODY)}… (${r.body.length} characters)` : r.body;
  return (
    <>
      <div class="mono small">
        {r.method ?? '(method not recorded)'} <span class="hide-phone muted">{r.content_type ?? 'no content type'}</span>
      </div>
      {r.query ? <pre class="payload">?{r.query}</pre> : null}
      {body !== '' && <pre class="payload">{body}</pre>}
    </>
  );
}

function RefusedTable({ rows }: { rows: RejectedRow[] }) {
  if (rows.length === 0) return <p id="no-refused">No refused callback is kept that matches.</p>;
  return (
    <table id="refused">
      <thead>
        <tr>
          <th>
            <span class="sr-only">Select</span>
          </th>
          <th class="hide-phone">Received</th>
          <th>Profile</th>
          <th>Why</th>
          <th>Payload</th>
          <th>Re-ingested</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr data-testid={`refused-${r.id}`}>
            <td>
              {r.replayed_event_id === null && <input type="checkbox" name="ids" value={String(r.id)} aria-label={`Select refused callback ${r.id}`} />}
            </td>
            <td class="hide-phone mono">{when(r.received_at)}</td>
            <td class="mono">{r.profile}</td>
            <td class="error-text why">
              <span class="badge bad">{r.status_code}</span> {r.reason}
            </td>
            <td class="payload-cell">
              <Payload r={r} />
            </td>
            <td>{r.replayed_event_id === null ? <span class="muted">no</span> : <span class="mono">as event {r.replayed_event_id}</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The notes of callbacks refused before proving anything: metadata, never bodies. */
function Unstored({ deps }: { deps: ConsoleDeps }) {
  const notes = deps.refused?.list() ?? [];
  return (
    <section class="card" id="unstored" aria-labelledby="unstored-title">
      <h2 id="unstored-title">Refused and not kept</h2>
      <p class="muted">Refused before proving anything (an unknown profile, wrong credentials): anyone can send those, so only a note of the newest 100 is kept, in memory, and there is nothing to re-ingest.</p>
      {notes.length === 0 ? (
        <p class="muted">None since this router started.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>At</th>
              <th>Profile</th>
              <th>Status</th>
              <th class="hide-phone">Method</th>
              <th class="hide-phone">Content type</th>
              <th class="num hide-phone">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {notes.map((n) => (
              <tr>
                <td class="mono">{n.at.replace('T', ' ').slice(0, 19)}</td>
                <td class="mono">{n.profile}</td>
                <td>
                  <span class="badge bad">{n.status}</span> {n.error}
                </td>
                <td class="hide-phone">{n.method}</td>
                <td class="hide-phone mono">{n.content_type ?? ''}</td>
                <td class="num hide-phone">{n.bytes ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** How many a re-ingest of this selection would look at: those not re-ingested yet, up to what one request takes. */
function pendingCount(deps: ConsoleDeps, input: unknown): number {
  const r = reingestRequest(input);
  const at = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
  return deps.spool.rejected.list({ ids: r.ids, profile: r.profile, since: at(r.since), until: at(r.until), pending: true, limit: MAX_LIMIT }).length;
}

function report(s: ReingestSummary): ListState['notice'] {
  const resends = s.duplicates ? ` (${count(s.duplicates, 'as a resend', 'as resends')})` : '';
  const text = `Re-ingested ${count(s.considered, 'refused callback')}: ${s.accepted} accepted${resends}, ${s.refused.length} refused again.`;
  return { kind: s.refused.length === 0 && s.considered > 0 ? 'ok' : 'bad', text, detail: s.refused.slice(0, 20).map((f) => `#${f.id}: ${f.error}: ${f.message}`) };
}

/** POST /refused/reingest: first the count and a confirmation, then `ops.reingestRejected`. */
async function reingest(c: Ctx, deps: ConsoleDeps, form: Fields) {
  const selection = selectionOf(form, SELECTORS);
  const back = filterOf(form, SELECTORS);
  if ('error' in selection) return page(c, deps, { filter: back, notice: { kind: 'bad', text: selection.error } }, 400);
  try {
    if (confirmed(form)) return page(c, deps, { filter: back, notice: report(await deps.ops.reingestRejected(selection.input)) });
    const n = pendingCount(deps, selection.input);
    if (n === 0) return page(c, deps, { filter: back, notice: { kind: 'bad', text: 'Nothing to re-ingest: every one that matches was re-ingested already.' } });
    const more = n === MAX_LIMIT ? ` (at most ${MAX_LIMIT} per request: run it again for the rest)` : '';
    return c.html(
      <Frame c={c} deps={deps}>
        <Confirm
          action={`${PATH}/reingest`}
          csrf={c.get('session').csrf}
          question={`Re-ingest ${count(n, 'refused callback')}?`}
          detail={<p>Each is read again with the config as loaded now{more}; those accepted become events and are delivered by the rules, the others stay here.</p>}
          fields={selection.echo}
          button={`Re-ingest ${count(n, 'refused callback')}`}
          cancelHref={listHref(PATH, back)}
        />
      </Frame>,
    );
  } catch (err) {
    return page(c, deps, { filter: back, notice: { kind: 'bad', text: `Nothing was re-ingested: ${refusalText(err, SPELLING)}` } }, 400);
  }
}
