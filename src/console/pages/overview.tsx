/** @jsxImportSource hono/jsx */
/**
 * The console's Overview: callbacks per minute by status class and by profile, the delivery rate
 * per country, and each destination's state, pending and dead counts and oldest pending age.
 * Rendered as tables (the page works without script); /console/assets/overview.js draws the
 * charts with uPlot and refreshes everything every 5 s from GET /console/overview/figures.
 */
import { Hono } from 'hono';
import type { ConsoleDeps, ConsoleEnv } from '../deps.js';
import { Layout } from '../layout.js';
import { readOverview, type OverviewFigures, type TextTable } from './overview-figures.js';

/** Several open tabs refreshing every 5 s read the spool once per this long (a page load reads it afresh). */
const FIGURES_TTL_MS = 2_000;

export function overviewRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  let cached: { at: number; figures: OverviewFigures } | null = null;
  const figures = (): OverviewFigures => {
    const now = Date.now();
    if (!cached || now - cached.at >= FIGURES_TTL_MS || now < cached.at) cached = { at: now, figures: readOverview(deps, now) };
    return cached.figures;
  };

  app.get('/overview/figures', (c) => c.json(figures()));
  app.get('/overview', (c) =>
    c.html(
      <Layout title="Overview" active="/console/overview" csrf={c.get('session').csrf} scripts={['uplot.js', 'overview.js']} styles={['uplot.css']}>
        <h1>Overview</h1>
        {deps.cluster && <ClusterNote role={String(deps.cluster.status().role ?? 'all')} />}
        <OverviewBody figures={readOverview(deps)} />
      </Layout>,
    ),
  );
  return app;
}

/** What the figures mean on one replica of a cluster (docs/cluster-mode.md). */
function ClusterNote({ role }: { role: string }) {
  return (
    <p class="muted" id="cluster-note">
      Cluster mode (this replica's role: {role}): these figures are this replica's spool. Callbacks go to Kafka's intake topic, so
      the callback and country figures count only those this replica kept while Kafka did not acknowledge (normally none); dead
      letters are the cluster's, copied into every replica. Use /metrics across replicas for cluster-wide rates.
    </p>
  );
}

function OverviewBody({ figures }: { figures: OverviewFigures }) {
  const { tables } = figures;
  // The charts' first drawing comes from here, so the page need not wait 5 s for its first refresh.
  const initial = JSON.stringify({ perMinute: figures.perMinute });
  return (
    <section id="overview-live" data-refresh="/console/overview/figures" data-chart="overview" data-every="5000" data-figures={initial}>
      <p class="muted">
        Read at <time id="overview-at">{figures.at}</time>; refreshed every 5 s. Callbacks in the last hour:{' '}
        <strong id="overview-total">{figures.perMinute.total}</strong>.
      </p>
      <h2>Callbacks per minute, last 60 minutes</h2>
      <div class="grid">
        <div class="card">
          <h3>By status class</h3>
          <div class="chart" data-series="byClass" aria-label="Callbacks per minute by status class"></div>
          <FigureTable name="byClass" table={tables.byClass} />
        </div>
        <div class="card">
          <h3>By profile</h3>
          <div class="chart" data-series="byProfile" aria-label="Callbacks per minute by profile"></div>
          <FigureTable name="byProfile" table={tables.byProfile} />
        </div>
      </div>
      <h2>Delivery rate per country, last hour</h2>
      <p class="muted">Delivered ÷ final reports received in the last hour (a final report missing counts as not delivered).</p>
      <div class="card">
        <FigureTable name="countries" table={tables.countries} />
      </div>
      <h2>Destinations</h2>
      <div class="card">
        <FigureTable name="destinations" table={tables.destinations} />
      </div>
    </section>
  );
}

/**
 * A table of text cells; overview.js replaces its rows with the same table from the figures
 * endpoint. Each row carries its first cell as `data-key`, for tests and the script alike.
 */
function FigureTable({ name, table }: { name: string; table: TextTable }) {
  const cls = (i: number): string | undefined =>
    [table.numeric?.includes(i) ? 'num' : '', table.hidePhone?.includes(i) ? 'hide-phone' : ''].filter(Boolean).join(' ') || undefined;
  return (
    <table data-table={name} data-empty={table.empty} id={`table-${name}`}>
      <thead>
        <tr>
          {table.head.map((h, i) => (
            <th class={cls(i)} data-badge={table.badge === i ? 'yes' : undefined}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.length === 0 ? (
          <tr>
            <td colspan={table.head.length} class="muted">
              {table.empty}
            </td>
          </tr>
        ) : (
          table.rows.map((row) => (
            <tr data-key={row[0]}>
              {row.map((cell, i) => (
                <td class={cls(i)}>{table.badge === i ? <span class={`badge ${badgeClass(cell)}`}>{cell}</span> : cell}</td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

/** The badge colour of a destination state (the script maps it the same way). */
function badgeClass(state: string): string {
  return state === 'healthy' ? 'ok' : state === 'retrying' ? 'warn' : 'bad';
}
