import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { postSample } from '../testing/samples.js';
import { FINAL_MISSING_TYPE, Intake } from './intake.js';

const HOUR = 3_600_000;

const config = compileRoutes(
  {
    profiles: { watched: { finalAfter: '72h' }, unwatched: {} },
    kafka: { topics: { events: 'kaleyra.sms.events', lost: 'kaleyra.sms.lost' } },
    rules: [
      { name: 'lost-dlrs', match: { status: 'unknown', final: true }, to: ['kafka:lost'] },
      { name: 'every-report', to: ['kafka:events'] },
    ],
  },
  'intake test config',
);

describe('Intake', () => {
  let dir: string;
  let clock: number;
  let spool: Spool;
  let intake: Intake;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-intake-'));
    clock = Date.parse('2024-03-01T10:00:00Z');
    spool = new Spool({ path: join(dir, 'spool.db'), now: () => clock, plan: (e) => matchRoutes(e, config.table) });
    intake = new Intake({ config, spool, metrics: new Metrics(), logger: silentLogger, sentTimeZone: null });
  });
  afterEach(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (profile: string, over: Record<string, unknown>) =>
    intake.ingest(config.profiles.get(profile)!, { method: 'POST', contentType: 'application/json', body: JSON.stringify(postSample(over)), query: '' }, { receivedAt: new Date(clock) });

  describe('finalAfter: messages whose final report never comes', () => {
    it('makes one sms.final_missing event per message still interim after the profile\'s finalAfter, and only once', async () => {
      await post('watched', { message_id: 'lost:1', status: 'Sent' });
      await post('watched', { message_id: 'done:1', status: 'Sent' });
      await post('watched', { message_id: 'done:1', status: 'Delivered', status_time: '2022-04-05 09:00:00+00:00' });
      await post('unwatched', { message_id: 'other:1', status: 'Sent' });

      clock += 71 * HOUR;
      expect(await intake.sweepFinalMissing(clock)).toBe(0);

      clock += 2 * HOUR;
      expect(await intake.sweepFinalMissing(clock)).toBe(1);
      const lost = spool.operations.listDeliveries('pending', { destination: 'kafka:lost' });
      expect(lost).toHaveLength(1);
      const event = spool.operations.event(lost[0]!.event_id)!;
      expect(event).toMatchObject({
        type: FINAL_MISSING_TYPE,
        message_id: 'lost:1',
        status: 'Sent',
        status_class: 'unknown',
        status_final: true,
        profile: 'watched',
        received_at: new Date(clock).toISOString(),
      });

      clock += 10 * HOUR;
      expect(await intake.sweepFinalMissing(clock)).toBe(0);
    });

    it('a real final report after the announcement is still delivered, and not stale', async () => {
      await post('watched', { message_id: 'late:1', status: 'Sent' });
      clock += 73 * HOUR;
      await intake.sweepFinalMissing(clock);
      const late = await post('watched', { message_id: 'late:1', status: 'Delivered', status_time: '2022-04-08 09:00:00+00:00' });
      expect(late.ok && late.result).toMatchObject({ duplicate: false, stale: false });
    });
  });

  describe('reading', () => {
    it('answers what cannot be an event with the 400 to give, without storing', async () => {
      const out = await post('watched', { status: '', message_id: 'x:1' });
      expect(out).toMatchObject({ ok: false, status: 400, error: 'invalid_callback', problems: [{ field: 'status' }] });
      expect(spool.operations.listDeliveries(null)).toEqual([]);
    });
  });
});
