/** What a long replay or backfill prints while it works: `replayed 1500/4200`, on stderr. */
import type { Progress } from '../../ops/operations.js';
import type { CliContext } from '../command.js';

/**
 * Progress lines on stderr (stdout keeps the result, for scripts). Work done in one chunk
 * prints none: a replay of a few ids says only its result.
 * @example await ctx.operations().replay(input, progressOn(ctx, 'replayed'))
 */
export function progressOn(ctx: Pick<CliContext, 'err'>, verb: string): Progress {
  let shown = false;
  return {
    onProgress(done, total) {
      if (!shown && done >= total) return;
      shown = true;
      ctx.err(`${verb} ${done}/${total}`);
    },
  };
}

/**
 * The per-destination lines under a result: `  webhook:crm  1200`.
 * @example perDestination({ 'webhook:crm': 3 }) // ['  webhook:crm  3']
 */
export function perDestination(counts: Record<string, number>): string[] {
  return Object.entries(counts).map(([ref, n]) => `  ${ref}  ${n}`);
}
