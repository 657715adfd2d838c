/**
 * Taking a callback in: read it for its profile, enrich it, hand it to the spool, count it.
 * The HTTP edge, the re-ingest of refused payloads and the final-report sweep all come here,
 * so every event is made the same way whichever door it came through.
 */
import { enrichEvent } from '../enrich/enrich.js';
import { eventIdOf } from '../accept/accept.js';
import { StoreUnavailableError, errorMessage } from '../errors.js';
import { EVENT_TYPE_PREFIX, type DeliveryEvent } from '../event.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CompiledConfig, CompiledProfile } from '../route/compile.js';
import { configSource, type ConfigSource } from '../route/live-config.js';
import type { AcceptResult, InterimMessage, RejectedFilter, RejectedRecord } from '../spool/spool.js';
import type { TraceContext } from '../trace/context.js';
import type { FieldProblem } from '../validate/callback.js';
import { readCallback, type CallbackInput } from './read.js';

export type IntakeOutcome =
  | { ok: true; event: DeliveryEvent; result: AcceptResult }
  | { ok: false; status: 400; error: string; message: string; problems?: FieldProblem[] };

/** The parts of the spool intake uses (a Spool is one). */
export interface IntakeStore {
  /** `trace`: the callback's context, stored with its event; none: the event starts a trace. */
  commits: { accept(event: DeliveryEvent, trace?: TraceContext): Promise<AcceptResult> };
  rejected: { list(f: RejectedFilter): RejectedRecord[]; markReplayed(id: number, eventId: string): void };
  operations: {
    interimSince(profile: string, before: number, limit: number): InterimMessage[];
    markFinalMissing(messageKeys: readonly string[]): void;
  };
}

export interface IntakeDeps {
  /** The config, or the running router's holder of it (read once per call: a reload may swap it). */
  config: CompiledConfig | ConfigSource<CompiledConfig>;
  spool: IntakeStore;
  metrics: Metrics;
  logger: Logger;
  /** Zone of zone-less sent_time when the profile sets none (SENT_TIME_ZONE); null: kept local. */
  sentTimeZone?: string | null;
}

/** The type of the event made for a message whose final report never came (finalAfter). */
export const FINAL_MISSING_TYPE = `${EVENT_TYPE_PREFIX}final_missing`;

export interface IngestOptions {
  /** When the callback came; default now. */
  receivedAt?: Date;
  /** The callback's trace context (traceCallbacks); none: its event starts a trace of its own. */
  trace?: TraceContext;
}

export interface ReingestSummary {
  /** Payloads looked at. */
  considered: number;
  accepted: number;
  /** Accepted, but as a resend of an event already stored. */
  duplicates: number;
  /** Still refused, each with why (the row stays, with its first reason). */
  refused: { id: number; error: string; message: string }[];
}

/**
 * How a kept payload came. Rows kept before the method was recorded (spool version 1) stored a
 * GET's query string as the body, with no content type.
 */
function rejectedInput(row: RejectedRecord): CallbackInput {
  if (row.method !== null) return { method: row.method, contentType: row.content_type, body: row.body, query: row.query ?? '' };
  const looksLikeQuery = row.content_type === null && /^[^{<\s][^=]*=/.test(row.body);
  return looksLikeQuery
    ? { method: 'GET', contentType: null, body: '', query: row.body }
    : { method: 'POST', contentType: row.content_type, body: row.body, query: '' };
}

export class Intake {
  private readonly config: ConfigSource<CompiledConfig>;

  constructor(private readonly deps: IntakeDeps) {
    this.config = configSource(deps.config);
  }

  /**
   * Reads, enriches and stores one callback. Resolves with the 4xx to answer when the callback
   * cannot be an event; rejects with StoreUnavailableError when the spool cannot commit.
   */
  async ingest(profile: CompiledProfile, input: CallbackInput, { receivedAt = new Date(), trace }: IngestOptions = {}): Promise<IntakeOutcome> {
    const read = readCallback(profile, input);
    if (!read.ok) return read;
    const event = enrichEvent(read.callback, read.raw, {
      profile: profile.name,
      eventId: '',
      receivedAt,
      sentTimeZone: profile.config.sentTimeZone ?? this.deps.sentTimeZone ?? null,
      rawQuery: read.rawQuery,
    });
    event.event_id = eventIdOf(event);
    return this.store(event, trace);
  }

  private async store(event: DeliveryEvent, trace?: TraceContext): Promise<IntakeOutcome> {
    const { metrics, logger } = this.deps;
    let result: AcceptResult;
    try {
      result = await this.deps.spool.commits.accept(event, trace);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      // Only this callback's own content can fail before the commit (it cannot be serialised).
      return { ok: false, status: 400, error: 'invalid_callback', message: `the callback cannot be stored: ${errorMessage(err)}` };
    }
    const profile = event.profile;
    if (result.duplicate) {
      metrics.inc('callbacks_duplicate_total', { profile });
    } else {
      metrics.inc('callbacks_accepted_total', { profile, status_class: event.status_class });
      if (result.stale) metrics.inc('callbacks_stale_total', { profile });
      if (result.route.rules.length === 0 && !result.route.fallback) {
        metrics.inc('callbacks_unrouted_total', { profile });
        logger.warn('callback matched no rule and there is no fallback', { event_id: result.eventId, status: event.status, iso_code: event.iso_code });
      } else if (result.route.destinations.length === 0) {
        metrics.inc('callbacks_dropped_total', { profile, rule: result.route.rules.at(-1)! });
      }
    }
    return { ok: true, event, result };
  }

  /**
   * Re-ingests refused payloads (after a fix to a profile's key or field map), oldest first,
   * as if they had just arrived. Those accepted are marked with their event; the others stay.
   */
  async reingestRejected(filter: RejectedFilter): Promise<ReingestSummary> {
    const { spool } = this.deps;
    const config = this.config.current;
    const rows = spool.rejected.list({ ...filter, pending: true, oldestFirst: true });
    const summary: ReingestSummary = { considered: rows.length, accepted: 0, duplicates: 0, refused: [] };
    for (const row of rows) {
      const profile = config.profiles.get(row.profile);
      if (!profile) {
        summary.refused.push({ id: row.id, error: 'unknown_profile', message: `no callback profile named "${row.profile}" is configured` });
        continue;
      }
      const out = await this.ingest(profile, rejectedInput(row));
      if (!out.ok) {
        summary.refused.push({ id: row.id, error: out.error, message: out.message });
        continue;
      }
      spool.rejected.markReplayed(row.id, out.result.eventId);
      summary.accepted++;
      if (out.result.duplicate) summary.duplicates++;
    }
    return summary;
  }

  /**
   * For each profile with `finalAfter`: one `sms.final_missing` event per message whose latest
   * report is still interim after that long. Its status is what was last heard, its class
   * `unknown` and final, like NO-DLR-OPTR: nothing more is expected, and the fate is unknown.
   * Returns how many were made.
   */
  async sweepFinalMissing(now = Date.now(), batch = 500): Promise<number> {
    const { spool } = this.deps;
    const config = this.config.current;
    let made = 0;
    for (const profile of config.profiles.values()) {
      if (profile.finalAfterMs === null) continue;
      for (;;) {
        const due = spool.operations.interimSince(profile.name, now - profile.finalAfterMs, batch);
        if (due.length === 0) break;
        for (const { last } of due) {
          if (!last) continue;
          const receivedAt = new Date(now);
          const missing: DeliveryEvent = {
            ...last,
            type: FINAL_MISSING_TYPE,
            received_at: receivedAt.toISOString(),
            status_class: 'unknown',
            status_final: true,
            stale: false,
            description: `no final report within ${Math.round(profile.finalAfterMs / 60_000)} min of the last one (${last.status})`,
          };
          const out = await this.store({ ...missing, event_id: eventIdOf(missing) });
          if (out.ok && !out.result.duplicate) made++;
        }
        spool.operations.markFinalMissing(due.map((d) => d.messageKey));
        if (due.length < batch) break;
      }
    }
    return made;
  }
}
