import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { FIELD_NAMES, OperationError, type Spelling } from './errors.js';
import { createOperations, reingestRequest, replayRequest, type OperationsDeps } from './operations.js';
import type { BulkOptions, DeliverySelection, EventSelection, OperationsStore, RejectedSelection } from './store.js';

/** A store that answers with nothing and notes what each operation asked of it. */
function recordingStore(disabled: string[] = []) {
  const calls: { op: string; args: unknown[] }[] = [];
  const note = (op: string, ...args: unknown[]) => void calls.push({ op, args });
  const store: OperationsStore = {
    operations: {
      listDeliveries: (state: 'dead', f: DeliverySelection) => (note('listDeliveries', state, f), []),
      replayInChunks: async (f: DeliverySelection, state: 'dead' | 'done', o: BulkOptions) => (
        note('replay', f, state),
        { count: 2, total: 2, destinations: { 'webhook:crm': 2 }, chunks: o.dryRun ? 0 : 1, ...(o.dryRun ? { dryRun: true as const } : {}) }
      ),
      backfillInChunks: async (destination: string, f: EventSelection, o: BulkOptions) => (
        note('backfill', destination, f),
        { count: 3, total: 3, destinations: { [destination]: 3 }, chunks: o.dryRun ? 0 : 1, ...(o.dryRun ? { dryRun: true as const } : {}) }
      ),
      counts: () => [{ destination: 'kafka:events', state: 'dead', n: 1 }],
    },
    queue: {
      disabledDestinations: () => new Map(disabled.map((ref) => [ref, { disabledAt: 0, reason: 'answered 410' }])),
      enableDestination: (ref: string) => (note('enable', ref), disabled.includes(ref)),
    },
    rejected: { list: (f: RejectedSelection) => (note('listRejected', f), []) },
  };
  return { store, calls };
}

function harness(deps: Partial<OperationsDeps> = {}, disabled: string[] = []) {
  const { store, calls } = recordingStore(disabled);
  let wakes = 0;
  const reingested: RejectedSelection[] = [];
  const ops = createOperations({
    store,
    configured: ['kafka:events', 'webhook:crm'],
    intake: { reingestRejected: async (f) => (reingested.push(f), { considered: 1, accepted: 1, duplicates: 0, refused: [] }) },
    wake: () => void wakes++,
    ...deps,
  });
  return { ops, calls, reingested, wakes: () => wakes };
}

/** The error an operation throws, in a front door's words. */
function refusedWith(work: () => unknown, spelling: Spelling = FIELD_NAMES): { code: string; message: string } {
  try {
    work();
  } catch (err) {
    if (err instanceof OperationError) return { code: err.code, message: err.describe(spelling) };
    throw err;
  }
  throw new Error('the operation went ahead');
}

const T0 = '2026-11-01T00:00:00Z';
const T1 = '2026-11-02T00:00:00+01:00';

describe('operations: dead letters', () => {
  it('lists dead letters with the filter in the store\'s terms: times in ms, 100 unless a limit is given', () => {
    const { ops, calls } = harness();
    ops.listDeadLetters({ destination: 'webhook:crm', event_id: 'e1', code: 'http_500', since: T0, until: T1 });
    ops.listDeadLetters({ limit: 5 });
    expect(calls).toEqual([
      { op: 'listDeliveries', args: ['dead', { destination: 'webhook:crm', eventId: 'e1', code: 'http_500', since: Date.parse(T0), until: Date.parse(T1), limit: 100 }] },
      { op: 'listDeliveries', args: ['dead', { limit: 5 }] },
    ]);
  });

  it('refuses a since that is not a date-time, listing nothing', () => {
    const { ops, calls } = harness();
    expect(refusedWith(() => ops.listDeadLetters({ since: 'yesterday' }))).toEqual({ code: 'invalid_filter', message: expect.stringMatching(/^since: must be an ISO 8601 date-time/) });
    expect(calls).toEqual([]);
  });
});

describe('operations: replay', () => {
  it('replays what is named, dead letters by default, and wakes the dispatcher', async () => {
    const h = harness();
    await expect(h.ops.replay({ ids: [12, 13], code: 'timeout' })).resolves.toEqual({ replayed: 2 });
    expect(h.calls).toEqual([{ op: 'replay', args: [expect.objectContaining({ ids: [12, 13], code: 'timeout' }), 'dead'] }]);
    expect(h.wakes()).toBe(1);
  });

  it('a dry run answers what it would replay, per destination, with replayed 0, and wakes nothing', async () => {
    const h = harness();
    await expect(h.ops.replay({ all: true, dry_run: true })).resolves.toEqual({ replayed: 0, dry_run: true, would_replay: 2, destinations: { 'webhook:crm': 2 } });
    expect(h.wakes()).toBe(0);
  });

  it('refuses a dry_run that is not true or false, naming it', () => {
    const { ops, calls } = harness();
    expect(refusedWith(() => ops.replay({ all: true, dry_run: 'yes' }))).toMatchObject({ code: 'invalid_filter', message: expect.stringMatching(/^dry_run: /) });
    expect(calls).toEqual([]);
  });

  it('replays delivered events with state "done"', () => {
    const { ops, calls } = harness();
    ops.replay({ event_id: 'e1', state: 'done' });
    expect(calls[0]!.args[1]).toBe('done');
  });

  it.each<[string, unknown]>([
    ['everything, with all', { all: true }],
    ['the oldest few, with a limit alone', { limit: 3 }],
    ['nothing, with an empty list of ids', { ids: [] }],
  ])('takes %s', (_what, input) => {
    const { ops, calls } = harness();
    ops.replay(input);
    expect(calls).toHaveLength(1);
  });

  it.each<[string, unknown]>([
    ['nothing at all', {}],
    ['only a state', { state: 'done' }],
    ['all: false', { all: false }],
  ])('refuses a replay naming %s: an empty filter must not widen to every dead letter', (_what, input) => {
    const { ops, calls } = harness();
    expect(refusedWith(() => ops.replay(input))).toMatchObject({ code: 'invalid_filter', message: expect.stringMatching(/^name what to replay/) });
    expect(calls).toEqual([]);
  });

  it('says what to name in the words of the door that asked', () => {
    const api: Spelling = { field: (p) => p.join('.'), all: 'send {"all": true}' };
    expect(refusedWith(() => replayRequest({}), api).message).toBe('name what to replay (ids, destination, event_id, message_key, code, since, until), or send {"all": true}');
    const cli: Spelling = { field: (p) => `--${String(p[0]).replace('_', '-')}`, all: 'pass --all' };
    expect(refusedWith(() => replayRequest({}), cli).message).toMatch(/\(--ids, --destination, --event-id.*\), or pass --all$/);
  });
});

describe('operations: backfill', () => {
  it('backfills a configured destination with the events selected, and wakes the dispatcher', async () => {
    const h = harness();
    await expect(h.ops.backfill({ destination: 'webhook:crm', since: T0, limit: 10 })).resolves.toEqual({ added: 3 });
    expect(h.calls).toEqual([{ op: 'backfill', args: ['webhook:crm', { since: Date.parse(T0), limit: 10 }] }]);
    expect(h.wakes()).toBe(1);
  });

  it('a dry run answers what it would add, and wakes nothing', async () => {
    const h = harness();
    await expect(h.ops.backfill({ destination: 'webhook:crm', dry_run: true })).resolves.toEqual({ added: 0, dry_run: true, would_add: 3, destinations: { 'webhook:crm': 3 } });
    expect(h.wakes()).toBe(0);
  });

  it('refuses a destination the config does not declare, naming those it does', () => {
    const { ops, calls } = harness();
    expect(refusedWith(() => ops.backfill({ destination: 'kafka:nope' }))).toEqual({
      code: 'invalid_filter',
      message: '"destination" must name a configured destination (kafka:events, webhook:crm)',
    });
    expect(calls).toEqual([]);
  });

  it('refuses every destination where no config is known', () => {
    const { ops } = harness({ configured: undefined });
    expect(refusedWith(() => ops.backfill({ destination: 'kafka:events' })).code).toBe('invalid_filter');
  });
});

describe('operations: refused payloads', () => {
  it('lists refused payloads, 50 unless a limit is given', () => {
    const { ops, calls } = harness();
    ops.listRejected({ profile: 'templated', since: T0 });
    expect(calls).toEqual([{ op: 'listRejected', args: [{ profile: 'templated', since: Date.parse(T0), limit: 50 }] }]);
  });

  it('re-ingests what is named, up to the door\'s default when no limit is given', async () => {
    const h = harness();
    await h.ops.reingestRejected({ profile: 'templated', until: T1 });
    await h.ops.reingestRejected({ ids: [4] }, 10_000);
    await h.ops.reingestRejected({ all: true, limit: 7 }, 10_000);
    expect(h.reingested).toEqual([
      { profile: 'templated', until: Date.parse(T1), limit: 1000 },
      { ids: [4], limit: 10_000 },
      { limit: 7 },
    ]);
    expect(h.wakes()).toBe(3);
  });

  it('refuses a re-ingest that names nothing before asking for the intake', async () => {
    const api: Spelling = { field: (p) => p.join('.'), all: 'send {"all": true}' };
    expect(refusedWith(() => reingestRequest({}), api).message).toBe('name what to re-ingest (ids, profile, since, until), or send {"all": true}');
    await expect(harness({ intake: undefined }).ops.reingestRejected({})).rejects.toMatchObject({ code: 'invalid_filter' });
  });

  it('answers not_available where there is no intake to re-ingest with', async () => {
    await expect(harness({ intake: undefined }).ops.reingestRejected({ all: true })).rejects.toMatchObject({ code: 'not_available', message: 're-ingest needs the router' });
  });
});

describe('operations: destinations', () => {
  it('enables a destination and says whether it was disabled', () => {
    const h = harness({}, ['webhook:crm']);
    expect(h.ops.enable({ ref: 'webhook:crm' })).toEqual({ enabled: true });
    expect(h.ops.enable({ ref: 'kafka:events' })).toEqual({ enabled: false });
    expect(h.wakes()).toBe(2);
  });

  it('refuses a ref neither configured nor disabled, but clears one disabled and since dropped', () => {
    const h = harness({}, ['webhook:old']);
    expect(refusedWith(() => h.ops.enable({ ref: 'webhook:nope' }))).toEqual({
      code: 'unknown_destination',
      message: 'no destination "webhook:nope" is configured (kafka:events, webhook:crm)',
    });
    expect(h.ops.enable({ ref: 'webhook:old' })).toEqual({ enabled: true });
  });

  it('takes any ref where no config is known (the CLI enables without loading one)', () => {
    expect(harness({ configured: undefined }).ops.enable({ ref: 'webhook:any' })).toEqual({ enabled: false });
  });

  it('counts deliveries and lists the disabled destinations as plain data', () => {
    expect(harness({}, ['webhook:crm']).ops.stats()).toEqual({
      counts: [{ destination: 'kafka:events', state: 'dead', n: 1 }],
      disabled: { 'webhook:crm': { disabledAt: 0, reason: 'answered 410' } },
    });
  });
});

describe('operations on a real spool', () => {
  it('replays a dead letter by id, and a second replay finds nothing', async () => {
    const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { events: 'kaleyra.sms.events' } }, rules: [{ name: 'all', to: ['kafka:events'] }] }, 'ops test');
    const spool = new Spool({ path: ':memory:', plan: (e) => matchRoutes(e, config.table) });
    try {
      await spool.commits.accept(eventFrom(postSample()));
      const [d] = spool.operations.listDeliveries('pending');
      spool.queue.markDead(d!.id, 'topic_not_found', 'produce failed');
      const ops = createOperations({ store: spool, configured: ['kafka:events'] });
      expect(ops.listDeadLetters({})).toMatchObject([{ id: d!.id, last_code: 'topic_not_found' }]);
      expect(await ops.replay({ ids: [d!.id], dry_run: true })).toEqual({ replayed: 0, dry_run: true, would_replay: 1, destinations: { 'kafka:events': 1 } });
      expect(ops.listDeadLetters({})).toHaveLength(1);
      expect(await ops.replay({ ids: [d!.id] })).toEqual({ replayed: 1 });
      expect(await ops.replay({ ids: [d!.id] })).toEqual({ replayed: 0 });
      expect(ops.stats().counts).toEqual([{ destination: 'kafka:events', state: 'pending', n: 1 }]);
    } finally {
      spool.close();
    }
  });
});
