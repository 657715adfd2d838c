/** @jsxImportSource hono/jsx */
/**
 * The console's Try a payload page: paste what Kaleyra would send, pick the profile, and see
 * what the router would answer, the enriched event, the rules it matches and the destinations
 * it would reach. It runs tryCallback (src/ingest/try.ts), the request path without the spool:
 * nothing is stored or sent. `kcr test FILE` answers the same.
 */
import { Hono, type Context } from 'hono';
import { AUTH_NOT_CHECKED, UNKNOWABLE, tryCallback, tryInput, type TryResult } from '../../ingest/try.js';
import type { RouteMatch } from '../../route/match.js';
import { CALLBACK_METHODS } from '../../route/define-routes.js';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { CsrfField, Layout, Notice } from '../layout.js';
import { formFields } from './selection.js';

const PATH = '/console/try';
/** The content types offered; "" is: guess from the content, as the router reads an untyped body. */
const CONTENT_TYPES = [
  ['', 'Guess from the content'],
  ['application/json', 'JSON (application/json)'],
  ['application/x-www-form-urlencoded', 'Form or query string (urlencoded)'],
  ['application/xml', 'XML (application/xml)'],
  ['text/plain', 'Text, key=value lines'],
] as const;

type Ctx = Context<ConsoleEnv>;

interface TryForm {
  profile: string;
  method: string;
  contentType: string;
  payload: string;
}

export function tryRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/try', (c) => {
    const profiles = [...deps.config.current.profiles.keys()];
    return render(c, deps, { profile: profiles.includes('default') ? 'default' : (profiles[0] ?? ''), method: 'POST', contentType: '', payload: '' }, null);
  });
  app.post('/try', async (c) => {
    const f = await formFields(c);
    const text = (name: string): string => (typeof f[name] === 'string' ? f[name] : '');
    const form: TryForm = { profile: text('profile'), method: text('method').toUpperCase() || 'POST', contentType: text('content_type'), payload: text('payload') };
    // The config of this moment, read once: a reload between the parse and the match must not mix two.
    const config = deps.config.current;
    const input = tryInput(form.method, form.contentType || null, form.payload);
    const result = tryCallback(config, form.profile, input, { sentTimeZone: deps.sentTimeZone ?? null, maxBodyBytes: deps.maxBodyBytes });
    return render(c, deps, form, result);
  });
  return app;
}

function render(c: Ctx, deps: ConsoleDeps, form: TryForm, result: TryResult | null) {
  const profiles = [...deps.config.current.profiles.values()];
  return c.html(
    <Layout title="Try a payload" active={PATH} csrf={c.get('session').csrf}>
      <h1>Try a payload</h1>
      <p class="muted">
        What the router would do with a callback, by the config as loaded now. Nothing is stored or sent. {AUTH_NOT_CHECKED}
      </p>
      <form method="post" action={PATH} class="card try-form" id="try-form">
        <CsrfField csrf={c.get('session').csrf} />
        <div class="filters">
          <label>
            Profile
            <select name="profile">
              {profiles.map((p) => (
                <option value={p.name} selected={p.name === form.profile}>
                  {`${p.name} (${[...p.methods].join(', ')}${p.decrypt ? ', encrypted' : ''}${p.fieldMap ? ', field map' : ''})`}
                </option>
              ))}
            </select>
          </label>
          <label>
            Method
            <select name="method">
              {CALLBACK_METHODS.map((m) => (
                <option value={m} selected={m === form.method}>
                  {m}
                </option>
              ))}
            </select>
          </label>
          <label>
            Content type
            <select name="content_type">
              {CONTENT_TYPES.map(([value, label]) => (
                <option value={value} selected={value === form.contentType}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Payload (body or query string)
          <textarea name="payload" rows={12} spellcheck={false} placeholder={'{"status":"DELIVRD","id":"…","recipient":"…"}  or, for GET and DELETE, status=DELIVRD&id=…'}>
            {form.payload}
          </textarea>
        </label>
        <p class="muted small">For GET and DELETE the text is the query string (a whole callback URL is fine); for POST and PUT it is the body.</p>
        <p>
          <button type="submit">Try it</button>
        </p>
      </form>
      {result && <Result result={result} />}
    </Layout>,
  );
}

function routeLine(route: RouteMatch): string {
  if (route.rules.length > 0) return route.rules.join(', ');
  return route.fallback ? 'none: the fallback takes it' : 'none, and there is no fallback';
}

function Result({ result }: { result: TryResult }) {
  if (!result.accepted) {
    return (
      <section class="card" id="try-result" data-outcome="refused">
        <h2>
          Would be refused: <span class="badge bad">{result.status}</span> <span class="mono">{result.error}</span>
        </h2>
        <p class="error-text">{result.message}</p>
        {result.problems && result.problems.length > 0 && (
          <table id="try-problems">
            <thead>
              <tr>
                <th>Field</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {result.problems.map((p) => (
                <tr>
                  <td class="mono">{p.field}</td>
                  <td>{p.problem}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="muted">
          {result.status === 404
            ? 'A callback to a profile that is not configured leaves only a note (Refused page, "Refused and not kept").'
            : 'The router would keep this payload on the Refused page, to re-ingest after a config fix.'}
        </p>
      </section>
    );
  }
  const { route, event } = result;
  return (
    <section class="card" id="try-result" data-outcome="accepted">
      <h2>
        Would be accepted: <span class="badge ok">200</span> as <span class="mono">{event.type}</span>
      </h2>
      <dl class="facts">
        <dt>Rules it matches</dt>
        <dd id="try-rules">{routeLine(route)}</dd>
        <dt>Destinations it would reach</dt>
        <dd id="try-destinations" class="mono">
          {route.destinations.length ? route.destinations.join(', ') : 'none: it would be stored and delivered nowhere'}
        </dd>
        {result.if_stale && (
          <>
            <dt>If it turned out stale</dt>
            <dd class="mono">{`${routeLine(result.if_stale)} → ${result.if_stale.destinations.join(', ') || 'nowhere'}`}</dd>
          </>
        )}
        <dt>Event id</dt>
        <dd class="mono">{event.event_id}</dd>
      </dl>
      <p class="muted">{UNKNOWABLE}</p>
      <h3>The enriched event</h3>
      <pre id="try-event">{JSON.stringify(event, null, 2)}</pre>
    </section>
  );
}
