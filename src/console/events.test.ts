import { describe, expect, it } from 'vitest';
import { parseEventQuery, parseTime } from './pages/events.js';

describe('the Events page reads its query string', () => {
  it.each([
    ['2026-11-01T10:00', '2026-11-01T10:00:00.000Z'],
    ['2026-11-01T10:00:30', '2026-11-01T10:00:30.000Z'],
    ['2026-11-01T10:00:30.250', '2026-11-01T10:00:30.250Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T10:00:00Z', '2026-11-01T10:00:00.000Z'],
    ['2026-11-01T12:00:00+02:00', '2026-11-01T10:00:00.000Z'],
  ])('reads the time %s (no zone: UTC, as the form says) as %s', (text, iso) => {
    expect(parseTime(text)).toBe(Date.parse(iso));
  });

  it.each(['yesterday', '1700000000000', '2026-13-01T10:00', '2026-11-01 10:00', ''])('refuses %j as a time', (text) => {
    expect(parseTime(text)).toBeUndefined();
  });

  it('takes each filter as typed, upper-cases the country, and leaves empty fields out', () => {
    const q = parseEventQuery({
      status: ' Undelivered ',
      status_class: 'undelivered',
      iso_code: 'in',
      profile: '',
      message_id: 'ebccc:1',
      request_id: 'r-1',
      from: '2026-11-01T10:00',
      delivery: 'dead',
      before: '120',
      limit: '25',
      unrelated: 'x',
    });
    expect(q.problems).toEqual([]);
    expect(q.filter).toEqual({
      status: 'Undelivered',
      status_class: 'undelivered',
      iso_code: 'IN',
      message_id: 'ebccc:1',
      request_id: 'r-1',
      from: Date.parse('2026-11-01T10:00:00Z'),
      delivery: 'dead',
    });
    expect(q.page).toEqual({ before: 120, limit: 25 });
    expect(q.values).toEqual({ status: 'Undelivered', status_class: 'undelivered', iso_code: 'in', message_id: 'ebccc:1', request_id: 'r-1', from: '2026-11-01T10:00', delivery: 'dead' });
  });

  it('names every field it cannot read', () => {
    const q = parseEventQuery({ from: 'soon', to: '2026-11-01T10:00', delivery: 'lost', before: '-3', after: '1.5', limit: '100000' });
    expect(q.problems).toEqual([
      'from: not a time (write 2026-11-01T10:00, read as UTC, or a full ISO 8601 time)',
      'delivery: one of dead, pending, done, none',
      'before: a whole number (a cursor from the Older / Newer links)',
      'after: a whole number (a cursor from the Older / Newer links)',
      'limit: a whole number from 1 to 500',
    ]);
    expect(q.filter.to).toBe(Date.parse('2026-11-01T10:00:00Z'));
  });
});
