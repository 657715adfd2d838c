/** Counters and gauges, rendered in the Prometheus text format at /metrics. */
type Labels = Record<string, string>;

export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly gauges = new Map<string, { help: string; read: () => [Labels, number][] }>();

  /** @example metrics.inc('callbacks_accepted_total', { profile: 'default' }) */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const c = this.counters.get(name) ?? this.define(name, '');
    const key = labelString(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + by);
  }

  get(name: string, labels: Labels = {}): number {
    return this.counters.get(name)?.values.get(labelString(labels)) ?? 0;
  }

  /** Sum over every label set. */
  total(name: string): number {
    let n = 0;
    for (const v of this.counters.get(name)?.values.values() ?? []) n += v;
    return n;
  }

  define(name: string, help: string): { help: string; values: Map<string, number> } {
    let c = this.counters.get(name);
    if (!c) {
      c = { help, values: new Map() };
      this.counters.set(name, c);
    } else if (help) c.help = help;
    return c;
  }

  gauge(name: string, help: string, read: () => [Labels, number][]): void {
    this.gauges.set(name, { help, read });
  }

  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      if (c.help) out.push(`# HELP kcr_${name} ${c.help}`);
      out.push(`# TYPE kcr_${name} counter`);
      for (const [labels, v] of c.values) out.push(`kcr_${name}${labels} ${v}`);
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP kcr_${name} ${g.help}`, `# TYPE kcr_${name} gauge`);
      for (const [labels, v] of g.read()) out.push(`kcr_${name}${labelString(labels)} ${v}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function labelString(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',')}}`;
}
