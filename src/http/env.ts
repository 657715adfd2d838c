/**
 * What the HTTP modules share: the Hono env that types `c.get('profile')`, and the one thing
 * most handlers ask of the metrics.
 */
import type { CompiledProfile } from '../route/compile.js';

/** The Hono env of the callback routes: `profileAuth` sets `profile`, the handlers read it. */
export type AppEnv = { Variables: { profile: CompiledProfile } };

/** Somewhere to count things (Metrics is one). */
export interface Counters {
  inc(name: string, labels?: Record<string, string>): void;
}
