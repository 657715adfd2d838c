/**
 * What the HTTP modules share: the Hono env that types `c.get('profile')`, and the one thing
 * most handlers ask of the metrics.
 */
import type { CompiledProfile } from '../route/compile.js';
import type { TraceContext } from '../trace/context.js';

/**
 * The Hono env of the callback routes: `profileAuth` sets `profile`, traceCallbacks the
 * callback's `trace` context; the handlers read them.
 */
export type AppEnv = { Variables: { profile: CompiledProfile; trace: TraceContext } };

/** Somewhere to count things (Metrics is one). */
export interface Counters {
  inc(name: string, labels?: Record<string, string>): void;
}
