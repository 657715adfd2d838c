import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../spool/spool.js';
import type { MessageTimeline } from '../../spool/timeline.js';
import { eventFrom } from '../../testing/events.js';
import { postSample } from '../../testing/samples.js';
import { runCli } from '../run.js';
import { formatTimeline } from './show.js';

const MSG = 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1';

const attempt = (n: number, at: string, outcome: 'retry' | 'dead' | 'delivered', status: number | null, latency: number) => ({
  attempt: n,
  at,
  outcome,
  status_code: status,
  latency_ms: latency,
  code: status === null ? null : `http_${status}`,
  error: status === null ? null : `POST http://127.0.0.1:9/hooks answered ${status}`,
});

/** A report that went to a webhook failing with 503 until its retries ran out, and to a Kafka topic at once. */
const TIMELINE: MessageTimeline = {
  message_key: MSG,
  message_id: MSG,
  truncated: false,
  state: { status: 'Undelivered', rank: 2, final: true, event_id: 'e-1', updated_at: '2026-11-01T10:00:00.000Z', profile: 'default', final_missing_at: null },
  callbacks: [
    {
      event_id: 'e-1',
      received_at: '2026-11-01T10:00:00.000Z',
      type: 'sms.undelivered',
      status: 'Undelivered',
      stale: false,
      route: { rules: ['every-report', 'failures'], fallback: false, destinations: ['kafka:events', 'webhook:crm'] },
      raw: {},
      raw_query: null,
      event: {} as MessageTimeline['callbacks'][number]['event'],
      deliveries: [
        {
          id: 2,
          destination: 'webhook:crm',
          state: 'dead',
          first_at: '2026-11-01T10:00:00.000Z',
          next_at: null,
          updated_at: '2026-11-01T10:00:00.300Z',
          last_code: 'http_503',
          last_error: 'POST http://127.0.0.1:9/hooks answered 503 (retries exhausted)',
          attempts: [attempt(1, '2026-11-01T10:00:00.000Z', 'retry', 503, 4), attempt(2, '2026-11-01T10:00:00.100Z', 'dead', 503, 3)],
        },
        {
          id: 1,
          destination: 'kafka:events',
          state: 'done',
          first_at: '2026-11-01T10:00:00.000Z',
          next_at: null,
          updated_at: '2026-11-01T10:00:00.050Z',
          last_code: null,
          last_error: null,
          attempts: [attempt(1, '2026-11-01T10:00:00.040Z', 'delivered', null, 10)],
        },
      ],
    },
  ],
};

describe('kcr show', () => {
  it('prints one line per report and per attempt in time order (a report before attempts of the same instant), then the deliveries and the state', () => {
    expect(formatTimeline(TIMELINE)).toEqual([
      `message ${MSG}`,
      '2026-11-01T10:00:00.000Z  received  sms.undelivered "Undelivered"  event e-1  rules every-report, failures -> kafka:events, webhook:crm',
      '2026-11-01T10:00:00.000Z  attempt   webhook:crm #1 retry 503  4 ms  http_503: POST http://127.0.0.1:9/hooks answered 503',
      '2026-11-01T10:00:00.040Z  attempt   kafka:events #1 delivered  10 ms',
      '2026-11-01T10:00:00.100Z  attempt   webhook:crm #2 dead 503  3 ms  http_503: POST http://127.0.0.1:9/hooks answered 503',
      'deliveries:',
      '  webhook:crm  dead since 2026-11-01T10:00:00.300Z (2 attempt(s), last http_503: POST http://127.0.0.1:9/hooks answered 503 (retries exhausted))  event e-1',
      '  kafka:events  done since 2026-11-01T10:00:00.050Z (1 attempt(s))  event e-1',
      'state: Undelivered (final) since 2026-11-01T10:00:00.000Z',
    ]);
  });

  it('says when the rules were not recorded, when the fallback took a report, and when nothing is known of the state', () => {
    const c = TIMELINE.callbacks[0]!;
    const lines = formatTimeline({
      ...TIMELINE,
      state: null,
      callbacks: [
        { ...c, route: null, deliveries: [] },
        { ...c, event_id: 'e-2', stale: true, route: { rules: [], fallback: true, destinations: ['kafka:events'] }, deliveries: [] },
      ],
    });
    expect(lines[1]).toMatch(/event e-1  rules not recorded$/);
    expect(lines[2]).toMatch(/"Undelivered" STALE  event e-2  no rule matched, fallback -> kafka:events$/);
    expect(lines.slice(3)).toEqual(['deliveries:', '  none', 'state: unknown (no report advanced it, or retention purged it)']);
  });

  describe('against a DATA_DIR', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });
    async function kcr(args: string[], dir: string) {
      let out = '';
      let err = '';
      const code = await runCli(args, { out: (l) => void (out += `${l}\n`), err: (l) => void (err += `${l}\n`), env: { DATA_DIR: dir } });
      return { code, out, err };
    }
    async function dataDirWithReport(): Promise<string> {
      const dir = mkdtempSync(join(tmpdir(), 'kcr-show-'));
      dirs.push(dir);
      const spool = new Spool({ path: join(dir, 'spool.db'), plan: () => ({ destinations: ['kafka:events'], rules: ['all'], fallback: false }) });
      await spool.commits.accept(eventFrom(postSample()));
      spool.close();
      return dir;
    }

    it('prints the timeline, or with --json what the admin API answers', async () => {
      const dir = await dataDirWithReport();
      const text = await kcr(['show', MSG], dir);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(/ received {2}sms\.undelivered "Undelivered" {2}event \S+ {2}rules all -> kafka:events\n/);
      expect(text.out).toContain('  kafka:events  pending next try ');
      const json = await kcr(['show', MSG, '--json'], dir);
      expect(JSON.parse(json.out)).toMatchObject({ message_key: MSG, callbacks: [{ status: 'Undelivered', deliveries: [{ destination: 'kafka:events', state: 'pending' }] }] });
    });

    it('refuses an unknown message and a missing one with exit 2, naming MESSAGE', async () => {
      const dir = await dataDirWithReport();
      expect(await kcr(['show', 'nope:0'], dir)).toMatchObject({ code: 2, err: expect.stringMatching(/^kcr show: no message "nope:0" is kept: MESSAGE takes a message_id/) });
      expect(await kcr(['show'], dir)).toMatchObject({ code: 2, err: 'kcr show: MESSAGE: is required\n' });
      expect(await kcr(['show', MSG, '--limit', '0'], dir)).toMatchObject({ code: 2, err: expect.stringContaining('--limit: must be a whole number from 1 to 1000') });
    });
  });
});
