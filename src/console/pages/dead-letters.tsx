/** @jsxImportSource hono/jsx */
/**
 * The console's Dead letters page: deliveries that ran out of retries, filtered by the admin
 * API's own fields (so `/console/dead-letters?destination=webhook:crm` is a link to share),
 * replayed by ticked rows or all matching after a confirmation that counts them with a dry run;
 * and the destinations a 410 disabled, enabled again the same way. Actions go through `ops`.
 */
import { Hono, type Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ReplaySummary } from '../../ops/operations.js';
import { fromText } from '../../ops/schemas.js';
import type { DeliveryRow } from '../../ops/store.js';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { CsrfField, Layout, Notice } from '../layout.js';
import {
  Confirm,
  HiddenFields,
  confirmed,
  consoleSpelling,
  count,
  filterOf,
  formFields,
  listHref,
  listed,
  refusalText,
  selectionOf,
  when,
  type Fields,
  type ListState,
} from './selection.js';

const PATH = '/console/dead-letters';
/** The admin API's dead-letter filter fields (src/ops/schemas.ts), with the labels the page shows. */
const LABELS = { destination: 'Destination', event_id: 'Event id', message_key: 'Message key', code: 'Code', since: 'Since (UTC)', until: 'Until (UTC)', limit: 'Show at most' } as const;
const SELECTORS = ['destination', 'event_id', 'message_key', 'code', 'since', 'until'] as const;
const SPELLING = consoleSpelling(LABELS);
const PLACEHOLDERS: Partial<Record<keyof typeof LABELS, string>> = { destination: 'webhook:crm', since: '2026-11-01 10:00', until: '2026-11-01 10:00', limit: '100' };

type Ctx = Context<ConsoleEnv>;
type Filter = Record<string, string>;


export function deadLetterRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/dead-letters', (c) => page(c, deps, { filter: filterOf(c.req.query(), [...SELECTORS, 'limit']) }));
  app.post('/dead-letters/replay', async (c) => replay(c, deps, await formFields(c)));
  app.post('/dead-letters/enable', async (c) => enable(c, deps, await formFields(c)));
  return app;
}

/** The list page, with a notice after an action (or a refused filter). */
function page(c: Ctx, deps: ConsoleDeps, state: ListState, status: 200 | 400 = 200) {
  const { filter } = state;
  const { rows, notice, status: answered } = listed(() => deps.ops.listDeadLetters(fromText(filter)), state, SPELLING, status);
  const limit = Number(filter.limit ?? 100);
  return c.html(
    <Frame c={c} deps={deps}>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      <Disabled deps={deps} csrf={c.get('session').csrf} />
      <FilterForm filter={filter} />
      <form method="post" action={`${PATH}/replay`} id="replay-form">
        <CsrfField csrf={c.get('session').csrf} />
        <HiddenFields fields={filterOf(filter, SELECTORS)} />
        <div class="card">
          <DeadTable rows={rows} />
          {rows.length >= limit && <p class="muted">Showing the newest {limit}; more may match. "Replay all matching" takes every one that matches.</p>}
        </div>
        <p class="actions">
          <button type="submit" name="scope" value="selected" disabled={rows.length === 0}>
            Replay selected
          </button>{' '}
          <button type="submit" name="scope" value="matching" class="secondary" disabled={rows.length === 0}>
            Replay all matching
          </button>
        </p>
      </form>
    </Frame>,
    answered,
  );
}

function Frame({ c, deps, children }: { c: Ctx; deps: ConsoleDeps; children?: Child }) {
  return (
    <Layout title="Dead letters" active={PATH} csrf={c.get('session').csrf}>
      <h1>Dead letters</h1>
      {deps.cluster && (
        <p class="muted" id="cluster-note">
          Cluster mode: every replica lists the dead letters of the whole cluster (each follows the dead-letter topic); a replay here puts the delivery back in its message's outbox
          partition and the other replicas stop listing it. Disabled destinations are this replica's.
        </p>
      )}
      {children}
    </Layout>
  );
}

function FilterForm({ filter }: { filter: Filter }) {
  return (
    <form method="get" action={PATH} class="filters card" id="dead-filter">
      {(Object.keys(LABELS) as (keyof typeof LABELS)[]).map((name) => (
        <label>
          {LABELS[name]}
          <input
            type="text"
            name={name}
            value={filter[name] ?? ''}
            placeholder={PLACEHOLDERS[name]}
            inputmode={name === 'limit' ? 'numeric' : undefined}
          />
        </label>
      ))}
      <button type="submit">Filter</button>
      <a href={PATH}>Clear</a>
    </form>
  );
}

function DeadTable({ rows }: { rows: DeliveryRow[] }) {
  if (rows.length === 0) return <p id="no-dead-letters">No dead letter matches.</p>;
  return (
    <table id="dead-letters">
      <thead>
        <tr>
          <th>
            <span class="sr-only">Select</span>
          </th>
          <th class="num hide-phone">Id</th>
          <th>Event</th>
          <th>Destination</th>
          <th class="num">Attempts</th>
          <th>Last error</th>
          <th class="hide-phone">Died at</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr data-testid={`dead-letter-${r.id}`}>
            <td>
              <input type="checkbox" name="ids" value={String(r.id)} aria-label={`Select dead letter ${r.id}`} />
            </td>
            <td class="num hide-phone">{r.id}</td>
            <td>
              <a href={`/console/messages/${encodeURIComponent(r.message_key)}`} class="mono">
                {r.message_key}
              </a>
              <div class="muted mono small">event {r.event_id}</div>
            </td>
            <td class="mono">{r.destination}</td>
            <td class="num">{r.attempts}</td>
            <td class="error-text why">
              {r.last_code && <span class="badge bad">{r.last_code}</span>} {r.last_error ?? ''}
            </td>
            <td class="hide-phone mono">{when(r.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The destinations a 410 (or an operator) disabled, each with its Enable button. */
function Disabled({ deps, csrf }: { deps: ConsoleDeps; csrf: string }) {
  const disabled = [...deps.spool.queue.disabledDestinations()];
  return (
    <section class="card" id="disabled-destinations" aria-labelledby="disabled-title">
      <h2 id="disabled-title">Disabled destinations</h2>
      {disabled.length === 0 ? (
        <p class="muted">No destination is disabled.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Destination</th>
              <th class="hide-phone">Since</th>
              <th>Why</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {disabled.map(([ref, d]) => (
              <tr data-testid={`disabled-${ref}`}>
                <td class="mono">{ref}</td>
                <td class="hide-phone mono">{when(d.disabledAt)}</td>
                <td class="error-text">{d.reason}</td>
                <td>
                  <form method="post" action={`${PATH}/enable`} data-confirm={`Enable ${ref} again?`}>
                    <CsrfField csrf={csrf} />
                    <input type="hidden" name="ref" value={ref} />
                    <button type="submit" aria-label={`Enable ${ref}`}>
                      Enable
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** "to webhook:crm", or "to 3 destinations" with a line each. */
function destinationsOf(byDestination: Record<string, number>): { to: string; lines: string[] } {
  const refs = Object.keys(byDestination);
  if (refs.length === 1) return { to: ` to ${refs[0]}`, lines: [] };
  return { to: ` to ${refs.length} destinations`, lines: refs.map((r) => `${r}: ${count(byDestination[r]!, 'dead letter')}`) };
}

/** POST /dead-letters/replay: first the count (a dry run) and a confirmation, then the replay. */
async function replay(c: Ctx, deps: ConsoleDeps, form: Fields) {
  const selection = selectionOf(form, SELECTORS);
  const back = filterOf(form, SELECTORS);
  if ('error' in selection) return page(c, deps, { filter: back, notice: { kind: 'bad', text: selection.error } }, 400);
  let summary: ReplaySummary;
  try {
    summary = await deps.ops.replay({ ...selection.input, dry_run: !confirmed(form) });
  } catch (err) {
    return page(c, deps, { filter: back, notice: { kind: 'bad', text: `Nothing was replayed: ${refusalText(err, SPELLING)}` } }, 400);
  }
  if (confirmed(form)) {
    const n = summary.replayed;
    const after = n === 0 ? ' (none matched any more)' : n === 1 ? ': it is being delivered again' : ': they are being delivered again';
    return page(c, deps, { filter: back, notice: { kind: n ? 'ok' : 'bad', text: `Replayed ${count(n, 'dead letter')}${after}.` } });
  }
  const n = summary.would_replay ?? 0;
  if (n === 0) return page(c, deps, { filter: back, notice: { kind: 'bad', text: 'Nothing to replay: no dead letter matches any more.' } });
  const { to, lines } = destinationsOf(summary.destinations ?? {});
  // A replay to a disabled destination is dead-lettered again at once: say so before it happens.
  const disabled = Object.keys(summary.destinations ?? {}).filter((ref) => deps.spool.queue.disabledDestinations().has(ref));
  const question = `Replay ${count(n, 'dead letter')}${to}?`;
  return c.html(
    <Frame c={c} deps={deps}>
      <Confirm
        action={`${PATH}/replay`}
        csrf={c.get('session').csrf}
        question={question}
        detail={
          <>
            {lines.length > 0 && <ul>{lines.map((l) => <li>{l}</li>)}</ul>}
            {disabled.length > 0 && <Notice kind="bad">{`${disabled.join(', ')} ${disabled.length === 1 ? 'is' : 'are'} disabled: enable ${disabled.length === 1 ? 'it' : 'them'} first, or these are dead-lettered again at once.`}</Notice>}
            <p>Each is queued again with fresh attempts; the receiver may see an event it already saw (the same event id).</p>
          </>
        }
        fields={selection.echo}
        button={`Replay ${count(n, 'dead letter')}`}
        cancelHref={listHref(PATH, back)}
      />
    </Frame>,
  );
}

/** POST /dead-letters/enable: a confirmation, then `ops.enable`. */
async function enable(c: Ctx, deps: ConsoleDeps, form: Fields) {
  const ref = typeof form.ref === 'string' ? form.ref : '';
  if (!confirmed(form)) {
    const d = deps.spool.queue.disabledDestinations().get(ref);
    return c.html(
      <Frame c={c} deps={deps}>
        <Confirm
          action={`${PATH}/enable`}
          csrf={c.get('session').csrf}
          question={`Enable ${ref} again?`}
          detail={<p>{d ? `It was disabled at ${when(d.disabledAt)}: ${d.reason}. ` : 'It is not disabled now. '}Its pending deliveries are tried again at once.</p>}
          fields={{ ref }}
          button={`Enable ${ref}`}
          cancelHref={PATH}
        />
      </Frame>,
    );
  }
  try {
    const { enabled } = deps.ops.enable({ ref });
    const text = enabled ? `Enabled ${ref}: its deliveries are being sent again.` : `${ref} was not disabled; nothing changed.`;
    return page(c, deps, { filter: {}, notice: { kind: enabled ? 'ok' : 'bad', text } });
  } catch (err) {
    return page(c, deps, { filter: {}, notice: { kind: 'bad', text: `Nothing was enabled: ${refusalText(err, { ...SPELLING, field: () => 'the destination' })}` } }, 400);
  }
}
