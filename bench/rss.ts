/** The router's resident memory over its life, sampled each second from /proc/<pid>/status. */
import { rssMb } from './processes.js';

export interface RssSample {
  at: number;
  mb: number;
}

/**
 * @example const rss = new RssSampler(router.pid); ...; rss.stop(); rss.peakMb()
 */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 1_000) {
    const take = () => {
      const mb = rssMb(pid);
      if (mb !== null) this.samples.push({ at: Date.now(), mb });
    };
    take();
    this.timer = setInterval(take, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  peakMb(): number {
    return Math.max(0, ...this.samples.map((s) => s.mb));
  }

  /** The samples taken between two instants (Date.now()). */
  between(from: number, to: number): RssSample[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to);
  }
}

/**
 * Growth over a window in %: the mean of its last few samples against the mean of its first few
 * (a few, so one GC's swing does not decide it).
 * @example growthPct([{ at: 0, mb: 100 }, { at: 1, mb: 110 }]) // 10
 */
export function growthPct(samples: readonly RssSample[]): number {
  if (samples.length < 2) return 0;
  const n = Math.max(1, Math.min(5, Math.floor(samples.length / 4)));
  const mean = (xs: readonly RssSample[]) => xs.reduce((t, s) => t + s.mb, 0) / xs.length;
  const first = mean(samples.slice(0, n));
  return ((mean(samples.slice(-n)) - first) / first) * 100;
}
