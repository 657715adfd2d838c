/** @jsxImportSource hono/jsx */
/**
 * The console's Config page: the config being served, as loaded: its rules (with how many events
 * each matched in the last hour, from the routing decision kept with every event), its profiles,
 * its destinations and its alerts. It says which credentials a profile or webhook uses, never
 * their values, and shows webhook URLs redacted (tokens often ride in their query).
 */
import { Hono } from 'hono';
import { redactText } from '../../redact.js';
import type { CompiledConfig, CompiledDestination, CompiledProfile } from '../../route/compile.js';
import type { Patterns, RuleMatch } from '../../route/define-routes.js';
import type { LoadedConfig } from '../../route/live-config.js';
import type { RuleMatches } from '../../spool/figures.js';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';
import { formatAge } from './overview-figures.js';

export function configPageRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get('/config', (c) => {
    const config = deps.config.current;
    const matches = deps.spool.figures.ruleMatches(60);
    const info = 'info' in deps.config ? (deps.config.info as LoadedConfig<CompiledConfig>) : null;
    return c.html(
      <Layout title="Config" active="/console/config" csrf={c.get('session').csrf}>
        <h1>Config</h1>
        {deps.cluster && (
          <p class="muted" id="cluster-note">
            Cluster mode: this is the config of this replica, and the counts are the events in its own spool (callbacks it kept while
            Kafka did not acknowledge); every replica loads the same routes.config.ts.
          </p>
        )}
        <LoadedLine info={info} />
        <Rules config={config} matches={matches} />
        <Profiles profiles={[...config.profiles.values()]} />
        <Destinations destinations={[...config.destinations]} />
        <Alerts config={config} />
      </Layout>,
    );
  });
  return app;
}

function LoadedLine({ info }: { info: LoadedConfig<CompiledConfig> | null }) {
  if (!info) return <p class="muted">The config the router started with.</p>;
  return (
    <p class="muted" id="config-loaded">
      {info.version === 0 ? 'Loaded at start-up' : `Reload ${info.version}`}, {new Date(info.loadedAt).toISOString()}
      {info.hash && (
        <>
          {'; sha256 '}
          <code id="config-hash" class="wrap-id">{info.hash}</code>
        </>
      )}
    </p>
  );
}

function Rules({ config, matches }: { config: CompiledConfig; matches: RuleMatches }) {
  const written = new Map((config.source?.rules ?? []).map((r) => [r.name, r.match]));
  const { fallback } = config.table;
  return (
    <>
      <h2>Rules</h2>
      <p class="muted">
        In order; an event goes to every rule that matches until one with <code>stop</code>. Matched: events accepted in the last hour
        (<span id="rules-events">{matches.events}</span> in all), as decided when each was accepted.
      </p>
      <div class="card">
        <table id="table-rules">
          <thead>
            <tr>
              <th class="hide-phone">#</th>
              <th>Rule</th>
              <th>Match</th>
              <th>Destinations</th>
              <th class="hide-phone">Stop</th>
              <th class="num">Matched, last hour</th>
            </tr>
          </thead>
          <tbody>
            {config.table.rules.map((r) => (
              <tr data-key={r.name}>
                <td class="hide-phone">{r.index + 1}</td>
                <td>{r.name}</td>
                <td class="mono">{describeMatch(written.get(r.name), config.source !== undefined)}</td>
                <td>{r.to.length === 0 ? <span class="muted">none</span> : r.to.join(', ')}</td>
                <td class="hide-phone">{r.stop ? 'stop' : ''}</td>
                <td class="num">{matches.byRule[r.name] ?? 0}</td>
              </tr>
            ))}
            {fallback && (
              <tr data-key="(fallback)">
                <td class="hide-phone"></td>
                <td>(fallback)</td>
                <td class="muted">no rule matched</td>
                <td>{fallback.join(', ') || 'none'}</td>
                <td class="hide-phone"></td>
                <td class="num">{matches.fallback}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

/**
 * A rule's match as written: `status: undelivered, failed · iso_code: IN`.
 * @example describeMatch({ status: ['undelivered', 'failed'], final: true }, true) === 'status: undelivered, failed · final: true'
 */
export function describeMatch(match: RuleMatch | undefined, known: boolean): string {
  if (!known) return '(as compiled; the written patterns are not kept)';
  const parts = Object.entries(match ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([field, v]) => `${field}: ${typeof v === 'boolean' ? String(v) : ([] as string[]).concat(v as Patterns).join(', ')}`);
  return parts.length === 0 ? 'every event' : parts.join(' · ');
}

function Profiles({ profiles }: { profiles: CompiledProfile[] }) {
  return (
    <>
      <h2>Profiles</h2>
      <p class="muted">Each profile is a callback URL, /callbacks/&lt;profile&gt;. Credentials are named, never shown.</p>
      <div class="card">
        <table id="table-profiles">
          <thead>
            <tr>
              <th>Profile</th>
              <th>Methods</th>
              <th>Authentication</th>
              <th class="hide-phone">Options</th>
            </tr>
          </thead>
          <tbody>
            {profiles.map((p) => (
              <tr data-key={p.name}>
                <td>{p.name}</td>
                <td>{[...p.methods].join(', ')}</td>
                <td>{profileAuth(p)}</td>
                <td class="hide-phone">{profileOptions(p)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Which checks a callback must pass: their kinds and header names, no values. */
function profileAuth(p: CompiledProfile): string {
  const c = p.config;
  const parts: string[] = [];
  if (c.basicAuth) parts.push('basic auth');
  if (c.bearerToken) parts.push('bearer token');
  if (c.headers && Object.keys(c.headers).length > 0) parts.push(`headers: ${Object.keys(c.headers).join(', ')}`);
  if (c.tokenAuth?.issue) parts.push('tokens it issues (POST /callbacks/<profile>/token)');
  if (c.tokenAuth?.external) parts.push(`external tokens${c.tokenAuth.external.issuer ? ` from ${redactText(c.tokenAuth.external.issuer)}` : ''}`);
  return parts.length === 0 ? 'none: anyone with the URL' : parts.join('; ');
}

function profileOptions(p: CompiledProfile): string {
  const c = p.config;
  const parts: string[] = [];
  if (c.encryption) parts.push(`encrypted fields (${c.encryption.algorithm})`);
  if (p.fieldMap) parts.push('field map');
  if (c.sentTimeZone) parts.push(`sent_time zone ${c.sentTimeZone}`);
  if (p.finalAfterMs !== null) parts.push(`final report expected within ${formatAge(p.finalAfterMs)}`);
  return parts.join('; ');
}

function Destinations({ destinations }: { destinations: [string, CompiledDestination][] }) {
  return (
    <>
      <h2>Destinations</h2>
      <p class="muted">Switched-off ones (enabled: false) are left out. Webhook URLs are shown with their credentials and query values masked.</p>
      <div class="card">
        <table id="table-destinations">
          <thead>
            <tr>
              <th>Destination</th>
              <th>Target</th>
              <th class="hide-phone">Retry policy</th>
              <th class="hide-phone">Rate limit</th>
            </tr>
          </thead>
          <tbody>
            {destinations.map(([ref, d]) => (
              <tr data-key={ref}>
                <td>{ref}</td>
                <td class="mono">{destinationTarget(d)}</td>
                <td class="hide-phone">{retryPolicy(d)}</td>
                <td class="hide-phone">{d.rateLimit ? `${d.rateLimit.perSecond}/s, burst ${d.rateLimit.burst}` : 'unlimited'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** A topic's name, or a webhook's URL redacted, and whether it signs; header names only. */
function destinationTarget(d: CompiledDestination): string {
  const c = d.config as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof c.url === 'string') parts.push(redactText(c.url));
  else if (typeof c.name === 'string') parts.push(`topic ${c.name}`);
  else parts.push(d.kind);
  if (typeof c.secret === 'string') parts.push('signed (standard-webhooks)');
  if (c.headers && typeof c.headers === 'object') {
    const names = Object.keys(c.headers);
    if (names.length > 0) parts.push(`headers: ${names.join(', ')}`);
  }
  return parts.join('; ');
}

function retryPolicy(d: CompiledDestination): string {
  const p = d.policy;
  return `up to ${p.maxAttempts} attempts, backoff ${formatAge(p.initialDelayMs)} to ${formatAge(p.maxDelayMs)}, for at most ${formatAge(p.maxAgeMs)}; retried: ${p.retryStatuses.join(', ')}`;
}

function Alerts({ config }: { config: CompiledConfig }) {
  const a = config.alerts;
  return (
    <>
      <h2>Alerts</h2>
      <div class="card" id="config-alerts">
        {a ? (
          <p>
            <span class="mono">{redactText(a.url)}</span>
            {a.secret ? ', signed' : ''}; oldest pending delivery over {formatAge(a.oldestPendingMs)}, checked every {formatAge(a.checkEveryMs)},
            one alert per condition per {formatAge(a.repeatAfterMs)}.
          </p>
        ) : (
          <p class="muted">No alert webhook configured.</p>
        )}
      </div>
    </>
  );
}
