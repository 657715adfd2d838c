/**
 * The router's metrics, rendered by prom-client at /metrics. Each router has a Registry of its
 * own (tests run several routers in one process, and the global one would mix them), behind
 * the small API the code uses: `inc` a counter, read a figure kept elsewhere as a `gauge` or a
 * `counterOf`, `histogram` for latencies. Every name gets the `kcr_` prefix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type Labels = Record<string, string>;
type Rows = [Labels, number][];

/** Every metric's name starts with it, the process metrics' too. */
export const METRIC_PREFIX = 'kcr_';

/** Latency buckets in seconds, 1 ms to 60 s: an HTTP answer, a disk flush, a Kafka ack, a slow webhook. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * One metric family as the code sees it. Its prom-client metric is made at the first scrape
 * that has rows, with the label names those rows use, and made again if a later row brings a
 * new one: callers name labels where they count, never ahead.
 */
interface Family {
  type: 'counter' | 'gauge';
  help: string;
  /** This scrape's rows (read once, then handed to prom-client's collect). */
  read: () => Rows;
  rows: Rows;
  labelNames: string[];
  /** Its label names were given up front: shown before the first row. */
  declared?: boolean;
  metric: Counter | Gauge | null;
}

export interface MetricsOptions {
  /** prom-client's process and event-loop metrics (`kcr_process_*`, `kcr_nodejs_eventloop_lag_*`); the router turns them on. */
  processMetrics?: boolean;
}

export class Metrics {
  /** This router's registry; nothing is registered in prom-client's global one. */
  readonly registry = new Registry();
  private readonly families = new Map<string, Family>();
  /** Counters counted here: name -> label string -> value (what `get` and `total` read). */
  private readonly counts = new Map<string, Map<string, { labels: Labels; value: number }>>();

  constructor(opts: MetricsOptions = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  /** @example metrics.inc('callbacks_accepted_total', { profile: 'default' }) */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const values = this.counts.get(name) ?? this.defineCounter(name, '');
    const key = labelString(labels);
    const v = values.get(key);
    if (v) v.value += by;
    else values.set(key, { labels: { ...labels }, value: by });
  }

  /** @example metrics.get('callbacks_accepted_total', { profile: 'default', status_class: 'delivered' }) === 1 */
  get(name: string, labels: Labels = {}): number {
    return this.counts.get(name)?.get(labelString(labels))?.value ?? 0;
  }

  /** Sum over every label set. */
  total(name: string): number {
    let n = 0;
    for (const v of this.counts.get(name)?.values() ?? []) n += v.value;
    return n;
  }

  /**
   * Gives a counter its help text. With `labelNames` it is shown (at 0 when unlabelled) before
   * anything is counted; without, once something is.
   * @example metrics.define('deliveries_total', 'Delivery attempts by outcome.', ['destination', 'outcome'])
   */
  define(name: string, help: string, labelNames?: readonly string[]): void {
    this.defineCounter(name, help);
    const f = this.families.get(name)!;
    if (labelNames) {
      f.labelNames = [...new Set([...f.labelNames, ...labelNames])].sort();
      f.declared = true;
    }
  }

  /**
   * A gauge read at each scrape. `read` must be cheap: a scrape must not scan tables.
   * @example metrics.gauge('cluster_outbox_pending', 'Webhook deliveries fetched and not yet done.', () => [[{}, outbox.depth()]])
   */
  gauge(name: string, help: string, read: () => Rows): void {
    this.families.set(name, { type: 'gauge', help, read, rows: [], labelNames: [], metric: null });
  }

  /**
   * A counter whose value is kept elsewhere (a running total), read at each scrape.
   * @example metrics.counterOf('spool_commits', 'Group commits to the spool.', () => [[{}, commits.stats.commits]])
   */
  counterOf(name: string, help: string, read: () => Rows): void {
    this.families.set(name, { type: 'counter', help, read, rows: [], labelNames: [], metric: null });
  }

  /**
   * A histogram (seconds) with fixed label names, registered now; the same one when asked again.
   * @example metrics.histogram('spool_commit_duration_seconds', 'Each group commit.').observe(0.004)
   */
  histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], buckets: number[] = LATENCY_BUCKETS): Histogram<L> {
    const existing = this.registry.getSingleMetric(METRIC_PREFIX + name);
    if (existing instanceof Histogram) return existing as Histogram<L>;
    return new Histogram<L>({ name: METRIC_PREFIX + name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    for (const [name, f] of this.families) {
      f.rows = f.read();
      this.ensure(name, f);
    }
    return this.registry.metrics();
  }

  /** The content type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private defineCounter(name: string, help: string): Map<string, { labels: Labels; value: number }> {
    let values = this.counts.get(name);
    if (!values) {
      const counted = new Map<string, { labels: Labels; value: number }>();
      values = counted;
      this.counts.set(name, counted);
      this.families.set(name, { type: 'counter', help, read: () => [...counted.values()].map((v) => [v.labels, v.value]), rows: [], labelNames: [], metric: null });
    } else if (help) this.families.get(name)!.help = help;
    return values;
  }

  /** Makes (or remakes, when a new label name appears) the family's prom-client metric. */
  private ensure(name: string, f: Family): void {
    const keys = new Set(f.rows.flatMap(([labels]) => Object.keys(labels)));
    const fits = [...keys].every((k) => f.labelNames.includes(k));
    if (f.metric && fits) return;
    // Nothing to show yet: wait, so its label names are known (a labelled counter must not show an unlabelled 0).
    if (!f.metric && f.rows.length === 0 && !f.declared) return;
    if (f.metric) this.registry.removeSingleMetric(METRIC_PREFIX + name);
    f.labelNames = [...new Set([...f.labelNames, ...keys])].sort();
    const config = { name: METRIC_PREFIX + name, help: f.help || name.replace(/_/g, ' '), labelNames: f.labelNames, registers: [this.registry] };
    f.metric =
      f.type === 'counter'
        ? new Counter({
            ...config,
            collect() {
              this.reset();
              for (const [labels, v] of f.rows) this.inc(labels, v);
            },
          })
        : new Gauge({
            ...config,
            collect() {
              this.reset();
              for (const [labels, v] of f.rows) this.set(labels, v);
            },
          });
  }
}

function labelString(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}
