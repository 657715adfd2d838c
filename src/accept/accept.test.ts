import { describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { acceptEvent, eventIdOf, resendKey, type AcceptState } from './accept.js';

/** The accept step's memory, in a Map: the step is pure but for what it is given. */
function memoryState(): AcceptState & { ranks: Map<string, number>; stored: Set<string> } {
  const resends = new Map<string, { eventId: string; at: number }>();
  const ranks = new Map<string, number>();
  const stored = new Set<string>();
  return {
    ranks,
    stored,
    hasEvent: (id) => stored.has(id),
    resendOf: (key, since) => {
      const r = resends.get(key);
      return r && r.at >= since ? r.eventId : null;
    },
    rememberResend: (key, eventId, at) => void resends.set(key, { eventId, at }),
    rankOf: (key) => ranks.get(key) ?? null,
    advance: (key, rank) => void ranks.set(key, rank),
  };
}

describe('acceptEvent', () => {
  let clock = 1_000_000;
  const opts = {
    plan: (e: DeliveryEvent) => ({ destinations: e.stale ? [] : ['kafka:events'], rules: ['r'], fallback: false }),
    dedupeWindowMs: 60_000,
    now: () => clock,
  };
  const report = (over: Record<string, unknown>) => eventFrom(postSample(over));

  it('accepts a first report with its routing plan and remembers it', () => {
    const state = memoryState();
    const event = report({ message_id: 'm:1', status: 'Sent' });
    expect(acceptEvent(event, state, opts)).toEqual({ duplicate: false, event, stale: false, route: { destinations: ['kafka:events'], rules: ['r'], fallback: false } });
    expect(state.ranks.get('m:1')).toBe(1);
  });

  it('answers a resend within the window with the first event id, and only within it', () => {
    const state = memoryState();
    const first = report({ message_id: 'm:1' });
    acceptEvent(first, state, opts);
    expect(acceptEvent(report({ message_id: 'm:1' }), state, opts)).toEqual({ duplicate: true, eventId: first.event_id });
    clock += 60_001;
    expect(acceptEvent(report({ message_id: 'm:1' }), state, opts)).toMatchObject({ duplicate: false });
  });

  it('past the window, a report whose event is still kept is still a resend: its id is made from the report', () => {
    const state = memoryState();
    const first = report({ message_id: 'm:9' });
    const firstId = eventIdOf(first);
    acceptEvent({ ...first, event_id: firstId }, state, opts);
    state.stored.add(firstId);
    clock += 60_001;
    const again = report({ message_id: 'm:9' });
    expect(eventIdOf(again)).toBe(firstId);
    expect(acceptEvent({ ...again, event_id: eventIdOf(again) }, state, opts)).toEqual({ duplicate: true, eventId: firstId });
  });

  it('makes the same event id from the same report, and different ids from different reports', () => {
    const a = report({ message_id: 'm:10', status: 'Delivered' });
    expect(eventIdOf(a)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdOf(report({ message_id: 'm:10', status: 'DELIVERED' }))).toBe(eventIdOf(a));
    expect(eventIdOf(report({ message_id: 'm:11', status: 'Delivered' }))).not.toBe(eventIdOf(a));
    expect(eventIdOf(report({ message_id: 'm:10', status: 'Delivered', status_time: '2022-04-05 09:00:00+00:00' }))).not.toBe(eventIdOf(a));
    expect(eventIdOf({ ...a, type: 'sms.final_missing' })).not.toBe(eventIdOf(a));
  });

  it('fifty recipients of one send request (one id, one status, one time) are fifty reports', () => {
    const state = memoryState();
    const decisions = Array.from({ length: 50 }, (_, i) => acceptEvent(report({ id: 'req-1', message_id: `req-uuid:${i + 1}`, status: 'Delivered' }), state, opts));
    expect(decisions.every((d) => !d.duplicate)).toBe(true);
  });

  it('marks a report that moves its message backwards stale and routes the stale event', () => {
    const state = memoryState();
    acceptEvent(report({ message_id: 'm:2', status: 'Delivered' }), state, opts);
    const late = acceptEvent(report({ message_id: 'm:2', status: 'Sent', status_time: '2022-04-05 08:50:00+00:00' }), state, opts);
    expect(late).toMatchObject({ duplicate: false, stale: true, event: { stale: true }, route: { destinations: [] } });
    expect(state.ranks.get('m:2')).toBe(2);
  });

  it('keys a resend by profile, message, type, status spelling and status_time', () => {
    const e = report({ message_id: 'm:3', status: 'DELIVERED ' });
    expect(resendKey(e)).toBe(`default\u0000m:3\u0000sms.delivered\u0000delivered\u00002022-04-05T08:55:50.000Z`);
  });
});
