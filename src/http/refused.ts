/**
 * What is kept of a refused callback, and the one way the HTTP edge refuses one. Payloads of a
 * known, authenticated profile go to the store (operators fix the config and re-ingest them).
 * Those refused before they proved anything (unknown profile, failed auth) keep only a small
 * ring of their metadata, never their bodies: anyone can send those, so a flood of them must
 * cost a fixed amount of memory and no disk at all.
 */
import type { Context } from 'hono';
import type { CallbackInput } from '../ingest/read.js';
import type { Logger } from '../log.js';
import type { Counters } from './env.js';
import type { CallbackError } from './errors.js';

export interface RefusedNote {
  at: string;
  status: number;
  error: string;
  /** The profile name from the URL, cut to 64 characters. */
  profile: string;
  method: string;
  content_type: string | null;
  /** The declared content-length, when there was one. */
  bytes: number | null;
}

export class RefusedSample {
  private readonly ring: RefusedNote[] = [];
  private next = 0;

  constructor(readonly capacity = 100) {}

  note(n: RefusedNote): void {
    const kept: RefusedNote = { ...n, profile: n.profile.slice(0, 64), content_type: n.content_type?.slice(0, 128) ?? null };
    if (this.ring.length < this.capacity) this.ring.push(kept);
    else this.ring[this.next] = kept;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): RefusedNote[] {
    const n = this.ring.length;
    const out: RefusedNote[] = [];
    for (let i = 1; i <= n; i++) out.push(this.ring[(this.next - i + n) % n]!);
    return out;
  }
}

/** A refused payload of a known, authenticated profile, as handed over to be kept. */
export interface RejectedPayload {
  profile: string;
  statusCode: number;
  reason: string;
  contentType: string | null;
  body: string;
  method: string;
  query: string;
}

/** Where refused payloads are kept for re-ingest (the spool's `rejected` is one). */
export interface RejectedSink {
  record(r: RejectedPayload): void;
}

export interface RefusalDeps {
  /** The configured profiles: a name not among them stays out of metric labels. */
  profiles: ReadonlyMap<string, unknown>;
  rejected: RejectedSink;
  refused: Pick<RefusedSample, 'note'>;
  metrics: Counters;
  logger: Pick<Logger, 'warn'>;
}

/**
 * Refuses a callback: counts it, logs it, keeps the payload (`kept`) or only a note of it (null),
 * and throws `err` for `onError` to answer.
 */
export type Refuse = (c: Context, err: CallbackError, kept: CallbackInput | null) => never;

/**
 * The edge's one way to refuse a callback, so every refusal is counted and kept alike.
 * @example const refuse = refusal({ profiles: config.profiles, rejected: spool.rejected, refused, metrics, logger });
 * refuse(c, new CallbackError(404, 'unknown_profile', 'no callback profile named "x"'), null);
 */
export function refusal({ profiles, rejected, refused, metrics, logger }: RefusalDeps): Refuse {
  return function refuse(c, err, kept) {
    const name = c.req.param('profile') ?? '';
    // Unknown profile names come from the URL: keep them out of metric labels (unbounded).
    const profile = profiles.has(name) ? name : '(unknown)';
    metrics.inc('callbacks_rejected_total', { profile, reason: err.error });
    logger.warn('callback rejected', { profile: name.slice(0, 64), status: err.status, error: err.error, message: err.message.slice(0, 500) });
    if (kept) {
      rejected.record({ profile: name, statusCode: err.status, reason: err.message, contentType: kept.contentType, body: kept.body, method: kept.method, query: kept.query });
    } else {
      const bytes = Number(c.req.header('content-length') ?? NaN);
      refused.note({
        at: new Date().toISOString(),
        status: err.status,
        error: err.error,
        profile: name,
        method: c.req.method,
        content_type: c.req.header('content-type') ?? null,
        bytes: Number.isFinite(bytes) ? bytes : null,
      });
    }
    throw err;
  };
}
