import { describe, expect, it } from 'vitest';
import { acceptEvent, eventIdOf } from '../accept/accept.js';
import type { DeliveryEvent } from '../event.js';
import type { RouteMatch } from '../route/match.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { StateBatch, decodeState, type PartitionStates } from './state.js';

const plan = (): RouteMatch => ({ destinations: ['kafka:events'], rules: ['all'], fallback: false });
const HOUR = 3_600_000;

function report(status: string, statusTime: string): DeliveryEvent {
  const e = eventFrom(postSample({ message_id: 'm-1:1', status, status_time: statusTime }));
  return { ...e, event_id: eventIdOf(e) };
}

/** One batch over `base` at `now`: decides each event, then commits (writes the records, applies). */
function batch(base: PartitionStates, events: DeliveryEvent[], now: number, commit = true) {
  const state = new StateBatch(base, 24 * HOUR);
  const decisions = events.map((e) => acceptEvent(e, state.forMessage(e.message_key), { plan, dedupeWindowMs: 600_000, now: () => now }));
  const records = state.records(3, now);
  if (commit) state.apply();
  return { decisions, records };
}

describe('a partition state in cluster mode', () => {
  const delivered = report('Delivered', '2026-11-27 08:00:10+00:00');
  const sent = report('Sent', '2026-11-27 08:00:00+00:00');

  it('makes a later Sent stale and a resend a duplicate, batch after batch', () => {
    const base: PartitionStates = new Map();
    const first = batch(base, [delivered], 1_000);
    expect(first.decisions).toMatchObject([{ duplicate: false, stale: false }]);
    expect(first.records).toEqual([{ key: delivered.message_key, value: base.get(delivered.message_key), partition: 3 }]);
    const second = batch(base, [sent, delivered], 2_000);
    expect(second.decisions).toMatchObject([{ duplicate: false, stale: true }, { duplicate: true, eventId: delivered.event_id }]);
    // Long past the dedupe window, the same report is still the same event while it is kept.
    expect(batch(base, [delivered], 10 * HOUR).decisions).toMatchObject([{ duplicate: true }]);
  });

  it('sees its own earlier events inside one batch', () => {
    const base: PartitionStates = new Map();
    expect(batch(base, [delivered, sent, sent], 1_000).decisions).toMatchObject([{ stale: false }, { stale: true }, { duplicate: true }]);
  });

  it('leaves the committed state untouched until the transaction commits', () => {
    const base: PartitionStates = new Map();
    batch(base, [delivered], 1_000, false);
    expect(base.size).toBe(0);
    expect(batch(base, [delivered], 2_000).decisions).toMatchObject([{ duplicate: false }]);
  });

  it('forgets event ids past the retention when it writes the state back', () => {
    const base: PartitionStates = new Map();
    batch(base, [sent], 0);
    batch(base, [delivered], 25 * HOUR);
    expect(Object.keys(decodeState(base.get(sent.message_key))!.e)).toEqual([delivered.event_id]);
  });

  it('reads a state it cannot parse as none', () => {
    expect(decodeState('not json')).toBeNull();
    expect(decodeState('{"r":1}')).toBeNull();
    expect(decodeState(undefined)).toBeNull();
  });
});
