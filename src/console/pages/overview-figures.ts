/**
 * The Overview's figures, gathered once for both the page and its live JSON: callbacks per
 * minute (last hour), delivery rate per country (last hour), and each destination's state. Each
 * table is also given ready to show (its cells as text), so the page and the script that
 * refreshes it print the same thing and the script never formats or builds HTML.
 */
import type { CallbacksPerMinute, CountryRate } from '../../spool/figures.js';
import type { ConsoleDeps } from '../deps.js';

export type DestinationState = 'healthy' | 'retrying' | 'circuit open' | 'disabled';

export interface DestinationFigures {
  ref: string;
  state: DestinationState;
  pending: number;
  dead: number;
  /** Age of its oldest pending delivery (ms), or null when nothing is pending. */
  oldestPendingMs: number | null;
  /** The breaker's circuit ('closed', 'open', 'half-open'), or null when no worker runs for it. */
  circuit: string | null;
  /** Why it is retrying or disabled: the head's last failure code, or the reason it was switched off. */
  detail: string | null;
  /** In the config being served (false: removed by a reload, its deliveries kept). */
  configured: boolean;
}

/** A table as text: what the page renders and the script refreshes in place. */
export interface TextTable {
  head: string[];
  rows: string[][];
  /** Columns shown on desktop only. */
  hidePhone?: number[];
  /** Columns right-aligned (numbers). */
  numeric?: number[];
  /** The column shown as a badge (a destination's state). */
  badge?: number;
  /** Said instead when there are no rows. */
  empty: string;
}

export interface OverviewFigures {
  /** When they were read (ISO 8601). */
  at: string;
  perMinute: CallbacksPerMinute;
  /** Final reports per country over the last hour. */
  countries: CountryRate[];
  destinations: DestinationFigures[];
  tables: { byClass: TextTable; byProfile: TextTable; countries: TextTable; destinations: TextTable };
}

/**
 * Reads every figure the Overview shows. Cheap on a large spool: the per-minute tallies (spool/figures.ts), the
 * delivery tally, and one index lookup per destination.
 * @example const figures = readOverview(deps); figures.destinations[0]?.state // 'healthy'
 */
export function readOverview(deps: ConsoleDeps, now = Date.now()): OverviewFigures {
  const perMinute = deps.spool.figures.callbacksPerMinute(60);
  const countries = deps.spool.figures.countryRates(60);
  const destinations = readDestinations(deps, now);
  return {
    at: new Date(now).toISOString(),
    perMinute,
    countries,
    destinations,
    tables: {
      byClass: seriesTable('Status class', perMinute.byClass),
      byProfile: seriesTable('Profile', perMinute.byProfile),
      countries: countryTable(countries),
      destinations: destinationTable(destinations),
    },
  };
}

function readDestinations(deps: ConsoleDeps, now: number): DestinationFigures[] {
  const configured = deps.config.current.destinations;
  const counts = new Map<string, { pending: number; dead: number }>();
  for (const c of deps.spool.deliveryCounts.read()) {
    const entry = counts.get(c.destination) ?? { pending: 0, dead: 0 };
    if (c.state === 'pending') entry.pending += c.n;
    if (c.state === 'dead') entry.dead += c.n;
    counts.set(c.destination, entry);
  }
  const disabled = deps.spool.queue.disabledDestinations();
  const circuits = (deps.dispatcher?.status() ?? {}) as Record<string, { circuit?: string; consecutiveFailures?: number } | undefined>;
  // Removed destinations with deliveries left, and ones switched off, are shown too.
  const refs = [...new Set([...configured.keys(), ...counts.keys(), ...disabled.keys()])].sort();
  return refs.map((ref) => {
    const { pending, dead } = counts.get(ref) ?? { pending: 0, dead: 0 };
    const head = pending > 0 ? deps.spool.figures.queueHead(ref) : null;
    const breaker = circuits[ref];
    const off = disabled.get(ref);
    const failing = (breaker?.consecutiveFailures ?? 0) > 0 || (head?.attempts ?? 0) > 0;
    const state: DestinationState = off ? 'disabled' : breaker?.circuit === 'open' || breaker?.circuit === 'half-open' ? 'circuit open' : failing ? 'retrying' : 'healthy';
    return {
      ref,
      state,
      pending,
      dead,
      oldestPendingMs: head ? Math.max(0, now - head.firstAt) : null,
      circuit: breaker?.circuit ?? null,
      detail: off ? off.reason : (head?.lastCode ?? null),
      configured: configured.has(ref),
    };
  });
}

/** One row per series: the hour's total, the last 5 minutes and the current minute. */
function seriesTable(what: string, series: Record<string, number[]>): TextTable {
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const rows = Object.entries(series)
    .sort(([a, x], [b, y]) => sum(y) - sum(x) || a.localeCompare(b))
    .map(([key, xs]) => [key, String(sum(xs)), String(sum(xs.slice(-5))), String(xs.at(-1) ?? 0)]);
  return { head: [what, 'Last hour', 'Last 5 min', 'This minute'], rows, numeric: [1, 2, 3], hidePhone: [3], empty: 'No callbacks in the last hour.' };
}

function countryTable(countries: CountryRate[]): TextTable {
  return {
    head: ['Country', 'Delivery rate', 'Delivered', 'Final reports'],
    rows: countries.map((c) => [c.iso_code ?? '(none)', `${(c.rate * 100).toFixed(1)}%`, String(c.delivered), String(c.final)]),
    numeric: [1, 2, 3],
    hidePhone: [2],
    empty: 'No final reports in the last hour.',
  };
}

function destinationTable(destinations: DestinationFigures[]): TextTable {
  return {
    head: ['Destination', 'State', 'Pending', 'Dead', 'Oldest pending', 'Circuit', 'Detail'],
    rows: destinations.map((d) => [
      d.ref,
      d.state,
      String(d.pending),
      String(d.dead),
      d.oldestPendingMs === null ? '–' : formatAge(d.oldestPendingMs),
      d.circuit ?? '–',
      [d.configured ? '' : 'not in the config', d.detail ?? ''].filter(Boolean).join('; '),
    ]),
    numeric: [2, 3, 4],
    hidePhone: [5, 6],
    badge: 1,
    empty: 'No destinations configured.',
  };
}

/**
 * A duration as an operator reads it.
 * @example formatAge(42_000) === '42 s'; formatAge(7_500_000) === '2 h 5 min'; formatAge(259_200_000) === '3 d'
 */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  return h % 24 === 0 ? `${Math.floor(h / 24)} d` : `${Math.floor(h / 24)} d ${h % 24} h`;
}
