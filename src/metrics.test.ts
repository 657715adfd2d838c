import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

/** The samples of one metric family in the exposition text, as `name{labels} value` lines. */
function family(text: string, name: string): { type: string | undefined; lines: string[] } {
  const type = new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return { type, lines };
}

describe('Metrics', () => {
  it('counts with inc and reads back with get and total', () => {
    const m = new Metrics();
    m.inc('deliveries_total', { destination: 'kafka:events', outcome: 'done' }, 3);
    m.inc('deliveries_total', { outcome: 'done', destination: 'kafka:events' });
    m.inc('deliveries_total', { destination: 'webhook:crm', outcome: 'retry' });
    expect(m.get('deliveries_total', { destination: 'kafka:events', outcome: 'done' })).toBe(4);
    expect(m.total('deliveries_total')).toBe(5);
    expect(m.get('never_counted_total')).toBe(0);
  });

  it('renders counters typed counter, with kcr_ names and escaped label values', async () => {
    const m = new Metrics();
    m.define('callbacks_rejected_total', 'Callbacks refused with a 4xx.');
    m.inc('callbacks_rejected_total', { profile: 'a"b', reason: 'bad\\json' });
    const text = await m.render();
    expect(text).toContain('# HELP kcr_callbacks_rejected_total Callbacks refused with a 4xx.');
    expect(family(text, 'kcr_callbacks_rejected_total')).toEqual({ type: 'counter', lines: ['kcr_callbacks_rejected_total{profile="a\\"b",reason="bad\\\\json"} 1'] });
  });

  it('shows a declared counter before anything is counted, an unlabelled one at 0', async () => {
    const m = new Metrics();
    m.define('cluster_intake_fallbacks_total', 'Fallbacks.', []);
    m.define('tokens_issued_total', 'Tokens.', ['profile']);
    const text = await m.render();
    expect(family(text, 'kcr_cluster_intake_fallbacks_total')).toEqual({ type: 'counter', lines: ['kcr_cluster_intake_fallbacks_total 0'] });
    expect(family(text, 'kcr_tokens_issued_total')).toEqual({ type: 'counter', lines: [] });
  });

  it('takes a label first seen after the first scrape', async () => {
    const m = new Metrics();
    m.inc('dispatch_batches_total', { destination: 'kafka:a' });
    await m.render();
    m.inc('dispatch_batches_total', { destination: 'kafka:a', extra: 'x' });
    expect(family(await m.render(), 'kcr_dispatch_batches_total').lines).toEqual([
      'kcr_dispatch_batches_total{destination="kafka:a"} 1',
      'kcr_dispatch_batches_total{destination="kafka:a",extra="x"} 1',
    ]);
  });

  it('reads gauges and counters kept elsewhere at each scrape, typed as they are', async () => {
    const m = new Metrics();
    let commits = 0;
    let depth = 5;
    m.counterOf('spool_commits', 'Group commits.', () => [[{}, commits]]);
    m.gauge('outbox_pending', 'Pending.', () => [[{ destination: 'webhook:crm' }, depth]]);
    commits = 7;
    depth = 2;
    const text = await m.render();
    expect(family(text, 'kcr_spool_commits')).toEqual({ type: 'counter', lines: ['kcr_spool_commits 7'] });
    expect(family(text, 'kcr_outbox_pending')).toEqual({ type: 'gauge', lines: ['kcr_outbox_pending{destination="webhook:crm"} 2'] });
  });

  it('keeps histograms in seconds with buckets, one per name', async () => {
    const m = new Metrics();
    const h = m.histogram('spool_commit_duration_seconds', 'Each group commit.');
    expect(m.histogram('spool_commit_duration_seconds', 'again')).toBe(h);
    h.observe(0.003);
    const text = await m.render();
    expect(text).toMatch(/^# TYPE kcr_spool_commit_duration_seconds histogram$/m);
    expect(text).toMatch(/^kcr_spool_commit_duration_seconds_bucket\{le="0.005"\} 1$/m);
    expect(text).toMatch(/^kcr_spool_commit_duration_seconds_count 1$/m);
  });

  it('gives each instance its own registry, process metrics only when asked', async () => {
    const a = new Metrics({ processMetrics: true });
    const b = new Metrics();
    a.inc('x_total');
    const textA = await a.render();
    expect(textA).toMatch(/^# TYPE kcr_process_cpu_seconds_total counter$/m);
    expect(textA).toMatch(/^kcr_nodejs_eventloop_lag_seconds /m);
    const textB = await b.render();
    expect(textB).not.toContain('kcr_x_total');
    expect(textB).not.toContain('kcr_process_cpu');
  });
});
