/** Reads the router's /metrics (Prometheus text): the delivery gauges and the accept-to-ack histogram. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The samples of a Prometheus text exposition (comments skipped).
 * @example parseMetrics('kcr_deliveries{destination="kafka:events",state="pending"} 3') // [{ name: 'kcr_deliveries', labels: {...}, value: 3 }]
 */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

export async function scrape(base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

const isKafka = (s: Sample) => s.labels.destination?.startsWith('kafka:') ?? false;

/** Kafka deliveries in the spool by state, summed over the Kafka destinations (`kcr_deliveries`). */
export function kafkaDeliveries(samples: Sample[]): { pending: number; total: number } {
  let pending = 0;
  let total = 0;
  for (const s of samples) {
    if (s.name !== 'kcr_deliveries' || !isKafka(s)) continue;
    total += s.value;
    if (s.labels.state === 'pending') pending += s.value;
  }
  return { pending, total };
}

/** Cumulative bucket counts of `kcr_accept_to_delivered_seconds` over the Kafka destinations, by upper bound. */
export function acceptToAckBuckets(samples: Sample[]): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== 'kcr_accept_to_delivered_seconds_bucket' || !isKafka(s)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return buckets;
}

/**
 * The q-quantile (0..1) of the observations made between two scrapes of a cumulative histogram,
 * interpolated linearly within its bucket as Prometheus' histogram_quantile does; in the bucket
 * past the last bound, that bound. Null when nothing was observed in between.
 * @example quantileBetween(before, after, 0.99) // seconds
 */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => after.get(le)! - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! < rank) continue;
    const upper = bounds[i]!;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : counts[i - 1]!;
    return lower + (upper - lower) * ((rank - below) / Math.max(1, counts[i]! - below));
  }
  return bounds.at(-2) ?? null;
}
