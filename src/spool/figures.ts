/**
 * The console's figures, cheap however many rows the spool holds, at no cost to the callbacks'
 * path: per-minute tallies kept in memory (callbacks by status class and profile, final and
 * delivered reports by country, events per matched rule), brought up to date on each read from
 * the events committed since the last one (a range of the primary key: a refresh every 5 s reads
 * 5 s of events). The first read, or one after a long quiet spell, counts the last 90 minutes
 * afresh through the `events_received` index. Reads see only committed rows, so a rolled-back
 * commit is never counted, and rows another process wrote (a CLI re-ingest) are counted too.
 * The queue's head is one index lookup.
 */
import type { SpoolDb } from './db.js';
import { ROUTE_JOIN, ROUTE_OF_EVENT } from './route-decisions.js';

const MINUTE = 60_000;
/** Minutes of tallies kept: an hour's window plus the clock's slack. */
const KEEP_MINUTES = 90;
/** More new events than this since the last read: counting the window afresh is cheaper. */
const MAX_CATCH_UP = 50_000;
/** Events the router makes itself (a lost final report): not callbacks, so not counted as ones. */
const ROUTER_MADE = 'sms.final_missing';

/** What one event adds to the tallies. */
interface EventRow {
  seq: number;
  received_at: number;
  type: string;
  profile: string;
  status_class: string;
  iso_code: string | null;
  final: number | null;
  route: string | null;
}

// The columns, never the (compressed) body: an event's own status_final/iso_code since version 5.
const EVENT_COLUMNS = `e.seq, e.received_at, e.type, e.profile, e.status_class, e.iso_code, e.status_final AS final, ${ROUTE_OF_EVENT}`;

/** One minute's counts. */
interface MinuteTally {
  /** By `status_class`, then by profile (callbacks only). */
  callbacks: Map<string, Map<string, number>>;
  /** By iso_code ('' when the callback named none). */
  countries: Map<string, { final: number; delivered: number }>;
  rules: Map<string, number>;
  routed: number;
  fallback: number;
}

/** Callbacks per minute, oldest minute first: one series per status class and one per profile. */
export interface CallbacksPerMinute {
  /** Start of each minute (ms epoch), the last one being the minute now is in. */
  minutes: number[];
  byClass: Record<string, number[]>;
  byProfile: Record<string, number[]>;
  total: number;
}

/** Final reports of one country in a window, and how many of them said delivered. */
export interface CountryRate {
  /** Upper-cased ISO 3166-1 alpha-2; null when the callback named no country. */
  iso_code: string | null;
  final: number;
  delivered: number;
  /** delivered ÷ final, 0..1. */
  rate: number;
}

/** How many events each rule matched in a window (from the routing decision kept with each). */
export interface RuleMatches {
  byRule: Record<string, number>;
  /** Events no rule matched, which the fallback took. */
  fallback: number;
  /** Events in the window with a routing decision recorded. */
  events: number;
}

/** The head of a destination's queue: its oldest pending delivery. */
export interface QueueHead {
  /** When it was accepted or last replayed (ms epoch). */
  firstAt: number;
  /** Attempts it has had: more than 0 means the destination is retrying it. */
  attempts: number;
  lastCode: string | null;
}

export class SpoolFigures {
  private readonly stmt;
  private readonly tallies = new Map<number, MinuteTally>();
  /** The last event counted; 0: nothing counted yet. */
  private lastSeq = 0;

  constructor(
    db: SpoolDb,
    private readonly now: () => number,
  ) {
    this.stmt = {
      maxSeq: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events'),
      window: db.prepare<[number], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events e INDEXED BY events_received ${ROUTE_JOIN} WHERE e.received_at >= ?`),
      after: db.prepare<[number], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events e ${ROUTE_JOIN} WHERE e.seq > ? ORDER BY e.seq`),
      head: db.prepare<[string], { first_at: number; attempts: number; last_code: string | null }>(
        "SELECT first_at, attempts, last_code FROM deliveries INDEXED BY deliveries_queue WHERE destination = ? AND state = 'pending' ORDER BY id LIMIT 1",
      ),
    };
  }

  /**
   * Callbacks received per minute over the last `minutes` minutes (the current one included),
   * by status class and by profile; a minute with none is 0 in every series.
   * @example spool.figures.callbacksPerMinute(60).byClass.delivered // [0, 3, 12, ...] (60 numbers)
   */
  callbacksPerMinute(minutes = 60): CallbacksPerMinute {
    const first = this.catchUp(minutes);
    const series = (into: Record<string, number[]>, key: string): number[] => (into[key] ??= new Array<number>(minutes).fill(0));
    const out: CallbacksPerMinute = { minutes: Array.from({ length: minutes }, (_, i) => (first + i) * MINUTE), byClass: {}, byProfile: {}, total: 0 };
    for (const [minute, tally] of this.tallies) {
      const i = minute - first;
      // A clock step back can leave minutes "in the future": they have no place here.
      if (i < 0 || i >= minutes) continue;
      for (const [cls, profiles] of tally.callbacks) {
        for (const [profile, n] of profiles) {
          series(out.byClass, cls)[i]! += n;
          series(out.byProfile, profile)[i]! += n;
          out.total += n;
        }
      }
    }
    return out;
  }

  /**
   * Per country, the final reports of the last `minutes` minutes (the current one included) and
   * the share that said delivered; sms.final_missing counts as a final report that did not.
   * Busiest first.
   * @example spool.figures.countryRates(60) // [{ iso_code: 'IN', final: 40, delivered: 38, rate: 0.95 }]
   */
  countryRates(minutes = 60): CountryRate[] {
    const sums = new Map<string, { final: number; delivered: number }>();
    for (const tally of this.inWindow(minutes)) {
      for (const [iso, c] of tally.countries) {
        const sum = sums.get(iso) ?? { final: 0, delivered: 0 };
        sum.final += c.final;
        sum.delivered += c.delivered;
        sums.set(iso, sum);
      }
    }
    return [...sums]
      .sort(([a, x], [b, y]) => y.final - x.final || a.localeCompare(b))
      .map(([iso, c]) => ({ iso_code: iso === '' ? null : iso, ...c, rate: c.delivered / c.final }));
  }

  /**
   * How many events each rule matched in the last `minutes` minutes, as decided when each was
   * accepted, and how many the fallback took.
   * @example spool.figures.ruleMatches(60).byRule['failures'] // 7
   */
  ruleMatches(minutes = 60): RuleMatches {
    const out: RuleMatches = { byRule: {}, fallback: 0, events: 0 };
    for (const tally of this.inWindow(minutes)) {
      for (const [rule, n] of tally.rules) out.byRule[rule] = (out.byRule[rule] ?? 0) + n;
      out.fallback += tally.fallback;
      out.events += tally.routed;
    }
    return out;
  }

  /**
   * The oldest pending delivery of one destination, or null when nothing is pending.
   * @example spool.figures.queueHead('webhook:crm') // { firstAt: 1762000000000, attempts: 3, lastCode: 'http_503' }
   */
  queueHead(destination: string): QueueHead | null {
    const r = this.stmt.head.get(destination);
    return r ? { firstAt: r.first_at, attempts: r.attempts, lastCode: r.last_code } : null;
  }

  private *inWindow(minutes: number): Iterable<MinuteTally> {
    const first = this.catchUp(minutes);
    const last = first + Math.min(minutes, KEEP_MINUTES) - 1;
    for (const [minute, tally] of this.tallies) if (minute >= first && minute <= last) yield tally;
  }

  /** Counts the events committed since the last read; returns the first minute of the window asked for. */
  private catchUp(minutes: number): number {
    const current = Math.floor(this.now() / MINUTE);
    const keepFrom = current - KEEP_MINUTES + 1;
    for (const minute of this.tallies.keys()) if (minute < keepFrom) this.tallies.delete(minute);
    const max = this.stmt.maxSeq.get()?.seq ?? 0;
    // The first read, a long quiet spell, or a spool emptied (seq counting again from 1): count the window afresh.
    const afresh = this.lastSeq === 0 || max < this.lastSeq || max - this.lastSeq > MAX_CATCH_UP;
    if (afresh) this.tallies.clear();
    let seen = afresh ? max : Math.max(this.lastSeq, max);
    for (const row of afresh ? this.stmt.window.iterate(keepFrom * MINUTE) : this.stmt.after.iterate(this.lastSeq)) {
      this.add(row, keepFrom);
      seen = Math.max(seen, row.seq);
    }
    this.lastSeq = seen;
    return current - Math.min(minutes, KEEP_MINUTES) + 1;
  }

  private add(e: EventRow, keepFrom: number): void {
    const minute = Math.floor(e.received_at / MINUTE);
    // A dead letter copied in from the cluster keeps its old received_at: too old to count.
    if (minute < keepFrom) return;
    let t = this.tallies.get(minute);
    if (!t) this.tallies.set(minute, (t = { callbacks: new Map(), countries: new Map(), rules: new Map(), routed: 0, fallback: 0 }));
    if (e.type !== ROUTER_MADE) {
      const byProfile = t.callbacks.get(e.status_class) ?? new Map<string, number>();
      byProfile.set(e.profile, (byProfile.get(e.profile) ?? 0) + 1);
      t.callbacks.set(e.status_class, byProfile);
    }
    if (e.final === 1) {
      const iso = e.iso_code ?? '';
      const c = t.countries.get(iso) ?? { final: 0, delivered: 0 };
      c.final++;
      if (e.status_class === 'delivered') c.delivered++;
      t.countries.set(iso, c);
    }
    if (e.route !== null) {
      const route = JSON.parse(e.route) as { rules?: string[]; fallback?: boolean };
      for (const rule of route.rules ?? []) t.rules.set(rule, (t.rules.get(rule) ?? 0) + 1);
      t.routed++;
      if (route.fallback) t.fallback++;
    }
  }
}
