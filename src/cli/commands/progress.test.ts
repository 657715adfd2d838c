import { describe, expect, it } from 'vitest';
import { perDestination, progressOn } from './progress.js';

describe('progress of a replay or backfill in the CLI', () => {
  it('prints each chunk on stderr when the work takes more than one', () => {
    const err: string[] = [];
    const p = progressOn({ err: (l) => err.push(l) }, 'replayed');
    for (const done of [500, 1000, 1500, 1700]) p.onProgress!(done, 1700);
    expect(err).toEqual(['replayed 500/1700', 'replayed 1000/1700', 'replayed 1500/1700', 'replayed 1700/1700']);
  });

  it('prints nothing when it was done in one chunk (a replay by id says only its result)', () => {
    const err: string[] = [];
    progressOn({ err: (l) => err.push(l) }, 'replayed').onProgress!(3, 3);
    expect(err).toEqual([]);
  });

  it('lists the counts per destination, one line each', () => {
    expect(perDestination({ 'kafka:events': 1200, 'webhook:crm': 3 })).toEqual(['  kafka:events  1200', '  webhook:crm  3']);
    expect(perDestination({})).toEqual([]);
  });
});
