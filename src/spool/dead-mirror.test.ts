import { describe, expect, it } from 'vitest';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { Spool } from './spool.js';

describe('the dead-letter mirror (cluster mode)', () => {
  const event = eventFrom(postSample({ message_id: 'm-1:1', status: 'Undelivered' }));
  const dead = { event, destination: 'webhook:crm', code: 'http_400', error: 'HTTP 400', at: 1_000 };

  it('shows a dead letter from elsewhere as a dead delivery, once however often it is copied', () => {
    const spool = new Spool({ path: ':memory:' });
    spool.deadMirror.dead(dead);
    spool.deadMirror.dead(dead);
    const rows = spool.operations.listDeliveries('dead');
    expect(rows).toMatchObject([{ event_id: event.event_id, destination: 'webhook:crm', last_code: 'http_400', message_key: event.message_key }]);
    expect(spool.operations.event(event.event_id)).toEqual(event);
    spool.close();
  });

  it('stops showing it when a replica replayed it, and shows it again when it dies again', () => {
    const spool = new Spool({ path: ':memory:' });
    spool.deadMirror.dead(dead);
    spool.deadMirror.replayed(event.event_id, 'webhook:crm', 2_000);
    expect(spool.operations.listDeliveries('dead')).toEqual([]);
    spool.deadMirror.dead({ ...dead, code: 'http_500', at: 3_000 });
    expect(spool.operations.listDeliveries('dead')).toMatchObject([{ event_id: event.event_id, last_code: 'http_500' }]);
    spool.close();
  });

  it('leaves a delivery this replica is replaying (pending) alone', () => {
    const spool = new Spool({ path: ':memory:' });
    spool.deadMirror.dead(dead);
    expect(spool.operations.replay({ eventId: event.event_id })).toBe(1);
    spool.deadMirror.dead(dead); // the topic's copy read again (a restart) while the replay is under way
    expect(spool.operations.listDeliveries('pending')).toHaveLength(1);
    spool.close();
  });
});
