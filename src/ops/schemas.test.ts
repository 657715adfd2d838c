import { describe, expect, it } from 'vitest';
import { FIELD_NAMES, OperationError, parseInput } from './errors.js';
import { BackfillInput, EnableInput, ListDeadLettersInput, ListRejectedInput, MAX_IDS, ReingestInput, ReplayInput, fromText } from './schemas.js';

/** The message an input is refused with, in the input's own field names. */
function refusal(schema: Parameters<typeof parseInput>[0], input: unknown): string {
  try {
    parseInput(schema, input);
  } catch (err) {
    expect(err).toBeInstanceOf(OperationError);
    expect(err).toMatchObject({ code: 'invalid_filter', retriable: false });
    return (err as OperationError).describe(FIELD_NAMES);
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('operation input schemas', () => {
  it.each<[string, Parameters<typeof parseInput>[0], unknown]>([
    ['a replay by ids', ReplayInput, { ids: [1, 2, 3] }],
    [`a replay of ${MAX_IDS} ids`, ReplayInput, { ids: Array.from({ length: MAX_IDS }, (_, i) => i + 1) }],
    ['a replay of delivered events in a window with a zone offset', ReplayInput, { state: 'done', since: '2000-01-01T00:00:00+05:30', until: '2999-01-01T00:00:00Z' }],
    ['a replay of everything', ReplayInput, { all: true, limit: 1000 }],
    ['a dead-letter listing by destination and code', ListDeadLettersInput, { destination: 'webhook:crm', code: 'http_500', limit: 1 }],
    ['a backfill of a destination', BackfillInput, { destination: 'webhook:new', since: '2026-11-01T00:00:00Z' }],
    ['a listing of refused payloads', ListRejectedInput, { profile: 'templated', until: '2026-11-01T00:00:00Z' }],
    ['a re-ingest by ids', ReingestInput, { ids: [7], profile: 'templated' }],
    ['a ref to enable', EnableInput, { ref: 'webhook:crm' }],
  ])('accepts %s', (_what, schema, input) => {
    expect(parseInput(schema, input)).toEqual(input);
  });

  it.each<[string, Parameters<typeof parseInput>[0], unknown, RegExp]>([
    ['a limit of 1e20', ReplayInput, { all: true, limit: 1e20 }, /^limit: must be a whole number from 1 to 1000$/],
    ['a limit of 0', ListDeadLettersInput, { limit: 0 }, /^limit: must be a whole number from 1 to 1000$/],
    ['a limit as text', ListRejectedInput, { limit: '5' }, /^limit: must be a whole number from 1 to 1000$/],
    [`${MAX_IDS + 1} ids`, ReplayInput, { ids: Array.from({ length: MAX_IDS + 1 }, (_, i) => i + 1) }, /^ids: at most 1000 ids per request; send them in batches$/],
    ['an id of 0', ReingestInput, { ids: [0] }, /^ids\.0: must be positive$/],
    ['an id beyond the safe integers', ReplayInput, { ids: [2 ** 53] }, /^ids\.0: /],
    ['ids that are not a list', ReplayInput, { ids: 7 }, /^ids: must be a list of delivery ids$/],
    ['a since of "yesterday"', ListDeadLettersInput, { since: 'yesterday' }, /^since: must be an ISO 8601 date-time such as 2024-01-31T12:00:00Z$/],
    ['an until that is only a date', ReingestInput, { until: '2024-01-31' }, /^until: must be an ISO 8601 date-time/],
    ['an over-long code', ListDeadLettersInput, { code: 'c'.repeat(513) }, /^code: must be at most 512 characters$/],
    // An empty string used to mean "no condition", widening a replay to every dead letter.
    ['an empty destination', ReplayInput, { destination: '' }, /^destination: must not be empty$/],
    ['a state other than dead or done', ReplayInput, { state: 'pending' }, /^state: /],
    ['an unknown field', ReplayInput, { idz: [1] }, /idz/],
    ['a backfill with no destination', BackfillInput, {}, /^destination: is required$/],
    ['a backfill that selects deliveries', BackfillInput, { destination: 'kafka:audit', ids: [1], code: 'x' }, /backfill selects events: use event_id, message_key, since, until, limit, dry_run \(not ids, code\)/],
    ['an enable with no ref', EnableInput, {}, /^ref: is required$/],
    ['a parameter listing refused payloads does not take', ListRejectedInput, { code: 'x' }, /code/],
  ])('refuses %s, naming the field', (_what, schema, input, message) => {
    expect(refusal(schema, input)).toMatch(message);
  });

  it('says the first five problems and how many more, each cut short', () => {
    const message = refusal(ReplayInput, { ids: Array.from({ length: 900 }, () => 'x'.repeat(300)) });
    expect(message).toMatch(/and 895 more$/);
    expect(message.length).toBeLessThan(1_500);
  });
});

describe('fromText: fields that arrived as text (a query string, the command line)', () => {
  it.each<[Record<string, unknown>, Record<string, unknown>]>([
    [{ limit: '50' }, { limit: 50 }],
    [{ limit: '0050' }, { limit: 50 }],
    [{ ids: ['3', '4'] }, { ids: [3, 4] }],
    [{ code: '500', destination: 'kafka:events' }, { code: '500', destination: 'kafka:events' }],
    // Not digits: left as text for the schema to refuse, never read as a guess.
    [{ limit: '1e3' }, { limit: '1e3' }],
    [{ limit: ' 5' }, { limit: ' 5' }],
    [{ limit: '0x10' }, { limit: '0x10' }],
    [{ limit: '' }, { limit: '' }],
    [{ ids: ['3', 'x'] }, { ids: [3, 'x'] }],
  ])('reads %j as %j', (text, fields) => {
    expect(fromText(text)).toEqual(fields);
  });

  it.each(['1e20', '-1', '1.5', 'abc', '0', '1001', '', ' 5', '0x10', '99999999999999999999'])('leaves limit=%j to be refused naming the limit', (limit) => {
    expect(refusal(ListDeadLettersInput, fromText({ limit }))).toMatch(/^limit: must be a whole number from 1 to 1000$/);
  });
});
