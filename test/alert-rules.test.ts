/**
 * The Prometheus rules shipped in deploy/prometheus/alerts.yml: a well-formed rule file, each
 * rule with a severity, a summary and a description, and every kcr_* metric its expressions
 * name one that a real router (embedded, and a cluster replica against the real broker)
 * actually shows at /metrics. A renamed metric breaks this test, not the on-call's pager.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunningRouter } from '../src/router.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { kafkaBrokers, waitFor } from './support/kafka.js';
import { postCallback, postSample, ROOT, startTestRouter, tempDir } from './support/router.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const file = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const rules = file.groups.flatMap((g) => g.rules);
const metricNames = (expr: string): string[] => expr.match(/\bkcr_[a-z0-9_]+/g) ?? [];

/** The metric names a /metrics page shows: families (# TYPE) and samples. */
async function exposed(router: RunningRouter): Promise<Set<string>> {
  const text = await (await fetch(`${router.url}/metrics`)).text();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+)/.exec(line) ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('deploy/prometheus/alerts.yml', () => {
  it('is a rule file whose every rule has an expression, a severity, a summary and a description', () => {
    expect(file.groups.length).toBeGreaterThan(0);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining([
      'KcrRouterDown', 'KcrSpoolCannotCommit', 'KcrDeadLetters', 'KcrDestinationDisabled', 'KcrCircuitOpen', 'KcrOldestPendingTooOld', 'KcrClusterFallbackBacklog', 'KcrClusterIntakeLag',
    ]));
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(r.expr.trim(), r.alert).not.toBe('');
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description, r.alert).toBeTruthy();
      if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^\d+[smhd]$/);
    }
  });

  it('names only metrics that the router shows at /metrics, embedded or in cluster mode', async () => {
    // Embedded, with one destination that dead-letters (so the dead outcome is shown).
    const dir = tempDir('kcr-rules-');
    const refusing: Receiver = await startReceiver(() => 400);
    const embedded = await startTestRouter(
      { profiles: { default: {} }, webhooks: { refusing: { url: refusing.url } }, rules: [{ name: 'all', to: ['webhook:refusing'] }] },
      { dataDir: dir.path, env: { KAFKA_BROKERS: '' } },
    );
    cleanup.push(() => dir.remove(), () => refusing.close(), () => embedded.close());
    expect((await postCallback(embedded.url, postSample({ id: 'rules-1', message_id: 'rules-msg-1' }))).status).toBe(200);
    await waitFor(() => embedded.metrics.get('deliveries_total', { destination: 'webhook:refusing', outcome: 'dead' }) === 1);

    // A cluster replica, once it owns intake partitions (their lag is shown per partition).
    kafkaBrokers();
    const clusterDir = tempDir('kcr-rules-cluster-');
    const cluster = await startTestRouter(
      { profiles: { default: {} }, webhooks: { refusing: { url: refusing.url } }, rules: [{ name: 'all', to: ['webhook:refusing'] }] },
      { dataDir: clusterDir.path, env: { ROUTER_MODE: 'cluster', CLUSTER_PREFIX: `rules-${randomBytes(4).toString('hex')}`, CLUSTER_PARTITIONS: '2', CLUSTER_SESSION_TIMEOUT_MS: '6000' } },
    );
    cleanup.push(() => clusterDir.remove(), () => cluster.close());
    expect((await postCallback(cluster.url, postSample({ id: 'rules-2', message_id: 'rules-msg-2' }))).status).toBe(200);
    await waitFor(async () => (await exposed(cluster)).has('kcr_cluster_intake_lag'), 60_000, 500);

    const shown = new Set([...(await exposed(embedded)), ...(await exposed(cluster))]);
    const used = [...new Set(rules.flatMap((r) => metricNames(r.expr)))].sort();
    expect(used.length).toBeGreaterThanOrEqual(8);
    expect(used.filter((name) => !shown.has(name))).toEqual([]);
  });
});
