/** @jsxImportSource hono/jsx */
/**
 * The console's page of one message, /console/messages/<message_id>: its timeline as the admin
 * API answers it (GET /admin/messages/<id>, the same operation): each report raw and enriched,
 * the rules it matched, each delivery with every attempt, and the message's current state.
 */
import { Hono } from 'hono';
import { FIELD_NAMES, OperationError } from '../../ops/errors.js';
import { fromText } from '../../ops/schemas.js';
import type { MessageTimeline } from '../../spool/spool.js';
import type { TimelineAttempt, TimelineCallback, TimelineDelivery, TimelineState } from '../../spool/timeline.js';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout, Notice } from '../layout.js';

const STATE_BADGE = { done: 'ok', pending: 'warn', dead: 'bad' } as const;
const OUTCOME_BADGE = { delivered: 'ok', retry: 'warn', dead: 'bad' } as const;

/** A time as the page shows it: UTC, to the millisecond (attempts are milliseconds apart). */
const when = (iso: string): string => iso.replace('T', ' ').replace('Z', '');

/**
 * The dead-letters page narrowed to one dead delivery (its filters are the admin API's).
 * @example deadLetterHref('757b…', 'webhook:crm') // '/console/dead-letters?event_id=757b…&destination=webhook%3Acrm'
 */
export function deadLetterHref(eventId: string, destination: string): string {
  return `/console/dead-letters?${new URLSearchParams({ event_id: eventId, destination })}`;
}

export function messageRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  // The rest of the path is the id: a message_key without a message_id has a "/" (`<id>/<recipient>`).
  app.get('/messages/:message_id{.+}', (c) => {
    const id = c.req.param('message_id');
    const csrf = c.get('session').csrf;
    const json = c.req.header('accept')?.includes('application/json') ?? false;
    let timeline: MessageTimeline;
    try {
      timeline = deps.ops.messageTimeline(fromText({ ...c.req.query(), message_id: id }));
    } catch (err) {
      if (!(err instanceof OperationError)) throw err;
      const status = err.code === 'invalid_filter' ? 400 : 404;
      if (json) return c.json({ error: err.code, message: err.describe(FIELD_NAMES) }, status);
      return c.html(
        <Layout title="Message not found" active="/console/events" csrf={csrf}>
          <h1>Message {id.length > 120 ? `${id.slice(0, 119)}…` : id}</h1>
          <Notice kind="bad">{err.code === 'unknown_message' ? 'This router keeps nothing of that message: the id is wrong, or its reports are older than the retention period and were purged.' : err.describe(FIELD_NAMES)}</Notice>
          <p>
            <a href="/console/events">All events</a>
          </p>
        </Layout>,
        status,
      );
    }
    if (json) return c.json(timeline);
    return c.html(
      <Layout title={`Message ${timeline.message_id ?? timeline.message_key}`} active="/console/events" csrf={csrf}>
        <MessagePage timeline={timeline} cluster={deps.cluster !== undefined} />
      </Layout>,
    );
  });
  return app;
}

function MessagePage({ timeline: t, cluster }: { timeline: MessageTimeline; cluster: boolean }) {
  return (
    <>
      <h1 class="wrap-id">
        Message <span class="mono" id="message-id">{t.message_id ?? t.message_key}</span>
      </h1>
      {cluster && (
        <p class="muted" id="cluster-note">
          Cluster mode: what this replica's spool keeps of the message (the reports it committed locally and dead letters copied from the
          cluster's dead-letter topic); reports another replica handled are in that replica's console and in your Kafka topics.
        </p>
      )}
      <p>
        <a href={`/console/events?${new URLSearchParams({ message_id: t.message_key })}`}>Its reports in the events list</a>
        {t.message_id === null && <span class="muted"> · No message_id: found by its message_key.</span>}
      </p>
      <CurrentState state={t.state} />
      <h2>Timeline</h2>
      {t.truncated && <Notice kind="bad">More reports are kept than shown: these are the newest {t.callbacks.length}.</Notice>}
      {t.callbacks.length === 0 && <p class="muted">No report is kept (retention purged them).</p>}
      <ol class="timeline">
        {t.callbacks.map((cb) => (
          <Callback callback={cb} />
        ))}
      </ol>
    </>
  );
}

function CurrentState({ state }: { state: TimelineState | null }) {
  if (!state) return <p class="card muted">No current state: retention purged it, or every report was stale.</p>;
  return (
    <div class="card" id="message-state">
      <h2>Current state</h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          {state.status} <span class={`badge ${state.final ? 'ok' : 'warn'}`}>{state.final ? 'final' : state.rank === 1 ? 'interim' : 'early'}</span>
        </dd>
        <dt>Since</dt>
        <dd class="mono">{when(state.updated_at)}</dd>
        <dt>Profile</dt>
        <dd>{state.profile ?? '—'}</dd>
        <dt>By report</dt>
        <dd class="mono wrap-id">{state.event_id}</dd>
        {state.final_missing_at && (
          <>
            <dt>Final report missing</dt>
            <dd class="mono">announced {when(state.final_missing_at)}</dd>
          </>
        )}
      </dl>
    </div>
  );
}

function Callback({ callback: cb }: { callback: TimelineCallback }) {
  return (
    <li class="card callback" data-event-id={cb.event_id} data-testid="callback">
      <h3>
        <span class="mono">{when(cb.received_at)}</span> {cb.status} <span class="badge">{cb.type}</span>
        {cb.stale && (
          <span class="badge warn" title="A newer status was seen first: this report moved the message backwards">
            stale
          </span>
        )}
      </h3>
      <p class="muted mono wrap-id">event {cb.event_id}</p>
      <p class="rules">
        {cb.route === null
          ? 'Rules: not recorded (kept before this version, or copied from the dead-letter topic).'
          : cb.route.fallback
            ? `No rule matched: the fallback took it → ${cb.route.destinations.join(', ') || 'nowhere'}`
            : `Rules: ${cb.route.rules.join(', ') || 'none'} → ${cb.route.destinations.join(', ') || 'nowhere'}`}
      </p>
      {cb.event.description && <p class="description">{cb.event.description}</p>}
      <h4>Deliveries</h4>
      {cb.deliveries.length === 0 ? <p class="muted">None: no destination was planned.</p> : cb.deliveries.map((d) => <Delivery eventId={cb.event_id} delivery={d} />)}
      <details>
        <summary>Raw callback (the fields as received)</summary>
        <RawFields raw={cb.raw} />
        {cb.raw_query !== null && (
          <>
            <h4>Raw query string</h4>
            <pre class="raw-query">{cb.raw_query}</pre>
          </>
        )}
      </details>
      <details>
        <summary>Enriched event (as delivered, less the raw fields)</summary>
        <pre class="event-json">{JSON.stringify(cb.event, null, 2)}</pre>
      </details>
    </li>
  );
}

function RawFields({ raw }: { raw: Record<string, unknown> | null }) {
  if (raw === null) return <p class="muted">Not kept.</p>;
  return (
    <table class="raw-fields">
      <tbody>
        {Object.entries(raw).map(([k, v]) => (
          <tr>
            <th class="mono">{k}</th>
            <td class="mono wrap-id">{typeof v === 'string' ? v : JSON.stringify(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Delivery({ eventId, delivery: d }: { eventId: string; delivery: TimelineDelivery }) {
  return (
    <div class="delivery" data-destination={d.destination} data-testid="delivery">
      <p>
        <strong>{d.destination}</strong> <span class={`badge ${STATE_BADGE[d.state]}`}>{d.state}</span>{' '}
        <span class="muted">
          since {when(d.updated_at)}
          {d.next_at && ` · next try ${when(d.next_at)}`}
        </span>
        {d.state === 'dead' && (
          <>
            {' '}
            <a href={deadLetterHref(eventId, d.destination)} class="dead-letter-link">
              Its dead letter
            </a>
          </>
        )}
      </p>
      {d.last_error && (
        <p class="muted wrap-id">
          Last error: {d.last_code ? `${d.last_code}: ` : ''}
          {d.last_error}
        </p>
      )}
      <Attempts attempts={d.attempts} />
    </div>
  );
}

function Attempts({ attempts }: { attempts: TimelineAttempt[] }) {
  if (attempts.length === 0) return <p class="muted">No attempt yet.</p>;
  return (
    <table class="attempts">
      <thead>
        <tr>
          <th>#</th>
          <th>Time (UTC)</th>
          <th>Outcome</th>
          <th class="num">Status</th>
          <th class="num">Latency</th>
          <th class="hide-phone">Error</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr data-testid="attempt">
            <td class="num">{a.attempt}</td>
            <td class="mono">{when(a.at)}</td>
            <td>
              <span class={`badge ${OUTCOME_BADGE[a.outcome]}`}>{a.outcome}</span>
            </td>
            <td class="num">{a.status_code ?? '—'}</td>
            <td class="num">{a.latency_ms} ms</td>
            <td class="hide-phone wrap-id">{a.error ? `${a.code ? `${a.code}: ` : ''}${a.error}` : (a.code ?? '')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
