import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../spool/spool.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { FIELD_NAMES, OperationError } from './errors.js';
import { createOperations } from './operations.js';
import { MAX_STRING } from './schemas.js';

const MSG = 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1';

/** The operation's refusal, as code and message. */
function refusal(work: () => unknown): { code: string; message: string } {
  try {
    work();
  } catch (err) {
    if (err instanceof OperationError) return { code: err.code, message: err.describe(FIELD_NAMES) };
    throw err;
  }
  throw new Error('the operation went ahead');
}

describe('operations: a message timeline', () => {
  const spools: Spool[] = [];
  afterEach(() => {
    for (const s of spools.splice(0)) s.close();
  });
  function opsWithReports(n: number) {
    const spool = new Spool({ path: ':memory:', plan: () => ({ destinations: ['kafka:events'], rules: ['all'], fallback: false }) });
    spools.push(spool);
    const ready = (async () => {
      for (let i = 0; i < n; i++) await spool.commits.accept(eventFrom(postSample({ message_id: MSG, id: randomUUID(), status: ['Queued', 'Sent', 'Delivered'][i % 3], status_trace: '' })));
    })();
    return { ops: createOperations({ store: spool }), ready };
  }

  it('reads the message by its message_id, 100 newest reports unless a limit says', async () => {
    const { ops, ready } = opsWithReports(3);
    await ready;
    expect(ops.messageTimeline({ message_id: MSG }).callbacks.map((c) => c.status)).toEqual(['Queued', 'Sent', 'Delivered']);
    expect(ops.messageTimeline({ message_id: MSG, limit: 1 })).toMatchObject({ truncated: true, callbacks: [{ status: 'Delivered' }] });
  });

  it('answers unknown_message for a message it keeps nothing of, saying what the id may be', () => {
    const { ops } = opsWithReports(0);
    expect(refusal(() => ops.messageTimeline({ message_id: 'never-seen:0' }))).toEqual({
      code: 'unknown_message',
      message: 'no message "never-seen:0" is kept: message_id takes a message_id or a message_key, and reports older than the retention period are purged',
    });
  });

  it.each([
    [{}, 'message_id: is required'],
    [{ message_id: '' }, 'message_id: must not be empty'],
    [{ message_id: 'x'.repeat(MAX_STRING + 1) }, `message_id: must be at most ${MAX_STRING} characters`],
    [{ message_id: MSG, limit: 0 }, 'limit: must be a whole number from 1 to 1000'],
    [{ message_id: MSG, since: '2026-01-01T00:00:00Z' }, 'Unrecognized key: "since"'],
  ])('refuses %j before reading the store: %s', (input, message) => {
    const { ops } = opsWithReports(0);
    const r = refusal(() => ops.messageTimeline(input));
    expect(r.code).toBe('invalid_filter');
    expect(r.message).toContain(message);
  });

  it('answers not_available where the store keeps no timeline', () => {
    const spool = new Spool({ path: ':memory:' });
    spools.push(spool);
    const { operations, queue, rejected } = spool;
    const ops = createOperations({ store: { operations, queue, rejected } });
    expect(refusal(() => ops.messageTimeline({ message_id: MSG })).code).toBe('not_available');
  });
});
