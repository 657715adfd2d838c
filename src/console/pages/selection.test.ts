import { describe, expect, it } from 'vitest';
import { OperationError } from '../../ops/errors.js';
import { replayRequest } from '../../ops/operations.js';
import { consoleSpelling, filterOf, listHref, refusalText, selectionOf } from './selection.js';

const NAMES = ['destination', 'code', 'since', 'until'];

describe('filterOf: the filter fields a form or a link filled in', () => {
  it('leaves empty fields out, so an empty box never widens a selection to everything', () => {
    expect(filterOf({ destination: ' webhook:crm ', code: '', since: '   ' }, NAMES)).toEqual({ destination: 'webhook:crm' });
  });

  it.each([
    ['2026-11-01 10:00', '2026-11-01T10:00:00Z'],
    ['2026-11-01T10:00', '2026-11-01T10:00:00Z'],
    ['2026-11-01T10:00:30', '2026-11-01T10:00:30Z'],
    ['2026-11-01T10:00:00+05:30', '2026-11-01T10:00:00+05:30'],
    ['yesterday', 'yesterday'],
  ])('reads a time typed as %j as %j (UTC when it has no zone; anything else left for the schema to refuse)', (typed, read) => {
    expect(filterOf({ since: typed }, NAMES)).toEqual({ since: read });
  });

  it('takes the first of a repeated field and ignores fields it was not asked for', () => {
    expect(filterOf({ code: ['http_503', 'http_500'], limit: '5' }, NAMES)).toEqual({ code: 'http_503' });
  });
});

describe('selectionOf: what a list page asks to act on', () => {
  it('takes the ticked ids as numbers, and carries them through the confirmation as sent', () => {
    expect(selectionOf({ scope: 'selected', ids: ['3', '4'], code: 'http_503' }, NAMES)).toEqual({ input: { ids: [3, 4] }, echo: { scope: 'selected', ids: ['3', '4'] }, ticked: 2 });
  });

  it('asks for a tick when none was given', () => {
    expect(selectionOf({ scope: 'selected' }, NAMES)).toEqual({ error: expect.stringMatching(/^Nothing was selected/) });
  });

  it('takes all matching the filter, and says all when the filter is empty', () => {
    expect(selectionOf({ scope: 'matching', destination: 'webhook:crm' }, NAMES)).toMatchObject({ input: { destination: 'webhook:crm' }, ticked: null });
    expect(selectionOf({ scope: 'matching' }, NAMES)).toMatchObject({ input: { all: true }, echo: { scope: 'matching' } });
  });
});

describe("the console's words", () => {
  it('names a refused field by its label on the page', () => {
    const spelling = consoleSpelling({ since: 'Since (UTC)' });
    let err: unknown;
    try {
      replayRequest({ since: 'yesterday' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OperationError);
    expect(refusalText(err, spelling)).toMatch(/^"Since \(UTC\)": must be an ISO 8601 date-time/);
    expect(() => refusalText(new Error('boom'), spelling)).toThrow('boom');
  });

  it('links a list with its filter', () => {
    expect(listHref('/console/dead-letters', { destination: 'webhook:crm', code: 'http_503' })).toBe('/console/dead-letters?destination=webhook%3Acrm&code=http_503');
    expect(listHref('/console/refused', {})).toBe('/console/refused');
  });
});
