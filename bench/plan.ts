/** How long each part of a run takes: the full run (about 10 minutes) or `--quick` (under 2). */

export interface Window {
  warmupS: number;
  durationS: number;
}

export interface Plan {
  quick: boolean;
  /** Closed loop, per target: N keep-alive connections (as `wrk -c64`). */
  throughput: Window & { connections: number };
  /** Open loop at the 5,000 callbacks/s. */
  at5k: Window & { rps: number; connections: number };
  /** RSS sampled each second under a steady offered rate. */
  soak: { rps: number; seconds: number };
  /** Kafka stopped for `seconds` under a steady offered rate; the drain waited for at most `drainTimeoutS`. */
  outage: { rps: number; seconds: number; drainTimeoutS: number };
  /** Longest wait for the router to deliver what a phase left pending before the next one. */
  settleTimeoutS: number;
}

/**
 * The plan for the command line's flags.
 * @example planFor(['--quick']).soak.seconds // 15
 */
export function planFor(argv: readonly string[]): Plan {
  const quick = argv.includes('--quick');
  return quick
    ? {
        quick,
        throughput: { connections: 64, warmupS: 1, durationS: 4 },
        at5k: { rps: 5_000, connections: 256, warmupS: 1, durationS: 5 },
        soak: { rps: 1_000, seconds: 15 },
        outage: { rps: 1_000, seconds: 10, drainTimeoutS: 20 },
        settleTimeoutS: 15,
      }
    : {
        quick,
        throughput: { connections: 64, warmupS: 2, durationS: 10 },
        at5k: { rps: 5_000, connections: 256, warmupS: 2, durationS: 20 },
        soak: { rps: 1_000, seconds: 300 },
        outage: { rps: 1_000, seconds: 60, drainTimeoutS: 120 },
        settleTimeoutS: 60,
      };
}
