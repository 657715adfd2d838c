import { describe, expect, it } from 'vitest';
import { STATUS_CLASSES, normalizeStatus, statusKey, statusRank, type StatusClass, type TraceGroup } from './status.js';

// Kaleyra's status_trace table (../shared/reference/DOMAIN.md), group by group.
const NOT_SENT_TRACES = [
  'NOT-ALLOWED', 'NO-CREDITS', 'SERIES-BLOCK', 'KLR-INV-NUMBER', 'SPAM', 'BLACKLIST', 'CON-DND',
  'INV-MOB-PATTRN', 'TEMPLATE-NOT-FOUND', 'INV-TEMPLATE-MATCH', 'SENDER-ID-NOT-FOUND', 'NOT-OPTIN',
  'OUTPUT-REJ', 'OPT-OUT', 'REJECTED-MULTIPART', 'DND-NUMB', 'SUBMIT-FAIL', 'NOTALLOWED', 'MAX-LIMIT',
  'INF-CREDIT',
];
const UNDELIVERED_TRACES = [
  'INV-NUMBER', 'SERVER-ERR', 'SNDRID-NOT-ALLOTED', 'INVALID-SUB', 'ABSENT-SUB', 'HANDSET-ERR', 'BARRED',
  'NET-ERR', 'MEM-EXEC', 'FAILED', 'MOB-OFF', 'HANDSET-BUSY', 'SERIES-BLK', 'EXPIRED', 'REJECTED',
];
const FAILED_TRACES = ['MOB-NOTALLOWED', 'NUM-LIMIT'];

describe('statusKey', () => {
  it.each([
    ['Not Sent', 'notsent'],
    ['NOT-SENT', 'notsent'],
    ['NotSent', 'notsent'],
    ['not_sent', 'notsent'],
    [' Not-Sent ', 'notsent'],
    ['not - sent', 'notsent'],
    ['AWAITED-DLR', 'awaiteddlr'],
    ['awaited_dlr', 'awaiteddlr'],
    ['Delivered', 'delivered'],
    ['', ''],
  ])('folds %j to %j (case, spaces, hyphens and underscores dropped)', (input, key) => {
    expect(statusKey(input)).toBe(key);
  });
});

describe('normalizeStatus', () => {
  it("maps Kaleyra's own sample (Undelivered + REJECTED-MULTIPART): the status wins, the trace keeps its NOT-SENT group", () => {
    expect(normalizeStatus('Undelivered', 'REJECTED-MULTIPART')).toEqual({
      cls: 'undelivered',
      final: true,
      traceGroup: 'not_sent',
    });
  });

  describe('the status vocabulary of DOMAIN.md, with no trace', () => {
    it.each<[string, StatusClass, boolean]>([
      ['Sent', 'pending', false],
      ['Queued', 'pending', false],
      ['AWAITED-DLR', 'pending', false],
      ['Delivered', 'delivered', true],
      ['DELIVRD', 'delivered', true],
      ['Undelivered', 'undelivered', true],
      ['UNDELIV', 'undelivered', true],
      ['EXPIRED', 'undelivered', true],
      ['Failed', 'failed', true],
      ['Not Sent', 'rejected', true],
      ['NOT-SENT', 'rejected', true],
      ['NotSent', 'rejected', true],
      // The operator never acknowledged: nothing more will come, but the fate is unknown.
      ['NO-DLR-OPTR', 'unknown', true],
    ])('%s is %s (final: %s)', (status, cls, final) => {
      expect(normalizeStatus(status, null)).toEqual({ cls, final, traceGroup: null });
    });
  });

  describe('spelling does not matter', () => {
    it.each([
      ['Not Sent'], ['NOT-SENT'], ['NotSent'], ['not_sent'], ['NOT SENT'], ['  not-sent  '], ['Not_Sent'],
    ])('%j is rejected and final', (status) => {
      expect(normalizeStatus(status, null)).toMatchObject({ cls: 'rejected', final: true });
    });

    it.each([
      ['delivered'], ['DELIVERED'], [' Delivered '], ['delivrd'], ['Delivrd'],
    ])('%j is delivered', (status) => {
      expect(normalizeStatus(status, null).cls).toBe('delivered');
    });

    it.each([['awaited dlr'], ['Awaited_DLR'], ['awaiteddlr'], ['QUEUED'], ['sent']])('%j is pending', (status) => {
      expect(normalizeStatus(status, null)).toMatchObject({ cls: 'pending', final: false });
    });

    it.each([['no dlr optr'], ['No_Dlr_Optr'], ['nodlroptr']])('%j is unknown but final', (status) => {
      expect(normalizeStatus(status, null)).toMatchObject({ cls: 'unknown', final: true });
    });
  });

  describe("every status_trace code lands in the group Kaleyra's table files it under", () => {
    it.each(NOT_SENT_TRACES)('%s is in the NOT-SENT group', (trace) => {
      expect(normalizeStatus('Undelivered', trace).traceGroup).toBe('not_sent');
    });

    it.each(UNDELIVERED_TRACES)('%s is in the UNDELIVERED group', (trace) => {
      expect(normalizeStatus('Undelivered', trace).traceGroup).toBe('undelivered');
    });

    it.each(FAILED_TRACES)('%s is in the FAILED group', (trace) => {
      expect(normalizeStatus('Failed', trace).traceGroup).toBe('failed');
    });

    // The provider's table lists these only as "others seen", in no group: we invent none.
    it.each([
      ['DELIVRD'], ['UNDELIV'], ['AWAITED-DLR'], ['NO-DLR-OPTR'], ['TIME-OUT-PROM'], ['OPTOUT-REJ'],
      ['INVALID-NUM'], ['MAX-LENGTH'], ['QUEUED'], ['SENT'],
    ])('"others seen" code %s is in the "other" group, not one we made up', (trace) => {
      expect(normalizeStatus('Sent', trace).traceGroup).toBe('other');
    });

    it.each([['rejected-multipart'], ['REJECTED_MULTIPART'], ['Rejected Multipart'], ['REJECTEDMULTIPART']])(
      'trace %j is matched however it is spelled',
      (trace) => {
        expect(normalizeStatus('Undelivered', trace).traceGroup).toBe('not_sent');
      },
    );
  });

  describe('a known status decides the class whatever the trace says', () => {
    it.each<[string, string, StatusClass, TraceGroup]>([
      ['Undelivered', 'BLACKLIST', 'undelivered', 'not_sent'],
      ['Delivered', 'INV-NUMBER', 'delivered', 'undelivered'],
      ['Failed', 'DELIVRD', 'failed', 'other'],
      ['Sent', 'MOB-NOTALLOWED', 'pending', 'failed'],
      ['Not Sent', 'ABSENT-SUB', 'rejected', 'undelivered'],
    ])('%s with trace %s is %s (trace group %s)', (status, trace, cls, group) => {
      expect(normalizeStatus(status, trace)).toMatchObject({ cls, traceGroup: group });
    });
  });

  describe('an unknown status takes its class from a known trace', () => {
    it.each<[string, StatusClass, boolean, TraceGroup]>([
      ['BLACKLIST', 'rejected', true, 'not_sent'],
      ['REJECTED-MULTIPART', 'rejected', true, 'not_sent'],
      ['ABSENT-SUB', 'undelivered', true, 'undelivered'],
      ['MOB-OFF', 'undelivered', true, 'undelivered'],
      ['NUM-LIMIT', 'failed', true, 'failed'],
      // "Others seen" codes that are status words mean what the word means.
      ['DELIVRD', 'delivered', true, 'other'],
      ['AWAITED-DLR', 'pending', false, 'other'],
    ])('status "Brand-New-Status" with trace %s is %s (final: %s)', (trace, cls, final, group) => {
      expect(normalizeStatus('Brand-New-Status', trace)).toEqual({ cls, final, traceGroup: group });
    });

    it('NO-DLR-OPTR means the same as a trace as it does as the status: unknown, and final', () => {
      expect(normalizeStatus('Brand-New-Status', 'NO-DLR-OPTR')).toEqual({ cls: 'unknown', final: true, traceGroup: 'other' });
      expect(normalizeStatus('NO-DLR-OPTR', null)).toMatchObject({ cls: 'unknown', final: true });
    });

    it('"others seen" DNDNUMB is the grouped DND-NUMB without its hyphen, so NOT-SENT', () => {
      expect(normalizeStatus('Sent', 'DNDNUMB').traceGroup).toBe('not_sent');
    });

    it.each([['TIME-OUT-PROM'], ['OPTOUT-REJ'], ['INVALID-NUM'], ['MAX-LENGTH']])(
      'an ungrouped code %s does not decide the class of an unknown status',
      (trace) => {
        expect(normalizeStatus('Brand-New-Status', trace)).toEqual({ cls: 'unknown', final: false, traceGroup: 'other' });
      },
    );
  });

  describe('no status words the provider does not use', () => {
    it.each([['Submitted'], ['Accepted']])('%s is not a known status', (status) => {
      expect(normalizeStatus(status, null)).toEqual({ cls: 'unknown', final: false, traceGroup: null });
    });

    it('"Rejected" is not a status word; as the trace code REJECTED it is in the UNDELIVERED group', () => {
      expect(normalizeStatus('Rejected', null)).toEqual({ cls: 'undelivered', final: true, traceGroup: null });
    });
  });

  it('a status that is itself a trace code ("BLACKLIST") is classed by its group', () => {
    expect(normalizeStatus('BLACKLIST', null)).toEqual({ cls: 'rejected', final: true, traceGroup: null });
  });

  describe('unknown status and unknown trace pass through as unknown and not final', () => {
    it.each<[string, string | null]>([
      ['Brand-New-Status', null],
      ['Brand-New-Status', 'BRAND-NEW-TRACE'],
      ['', null],
      ['???', ''],
    ])('status %j, trace %j', (status, trace) => {
      expect(normalizeStatus(status, trace)).toEqual({ cls: 'unknown', final: false, traceGroup: null });
    });
  });

  it('a new trace code with a known status keeps the status class and a null group', () => {
    expect(normalizeStatus('Delivered', 'BRAND-NEW-TRACE')).toEqual({ cls: 'delivered', final: true, traceGroup: null });
  });

  it('every class it returns is one of STATUS_CLASSES', () => {
    const statuses = ['Sent', 'Delivered', 'Undelivered', 'Failed', 'Not Sent', 'Queued', 'NO-DLR-OPTR', 'x'];
    for (const s of statuses) expect(STATUS_CLASSES).toContain(normalizeStatus(s, null).cls);
  });
});

describe('statusRank', () => {
  it.each<[StatusClass, boolean, number]>([
    ['unknown', false, 0],
    ['pending', false, 1],
    ['delivered', true, 2],
    ['undelivered', true, 2],
    ['failed', true, 2],
    ['rejected', true, 2],
    ['unknown', true, 2],
  ])('%s (final: %s) has rank %i', (cls, final, rank) => {
    expect(statusRank(cls, final)).toBe(rank);
  });

  it('a late "Sent" ranks below an earlier "Delivered", so it is stale', () => {
    const delivered = normalizeStatus('Delivered', 'DELIVRD');
    const sent = normalizeStatus('Sent', null);
    expect(statusRank(sent.cls, sent.final)).toBeLessThan(statusRank(delivered.cls, delivered.final));
  });

  it('a final report never ranks below an interim one', () => {
    const interim = ['Sent', 'Queued', 'AWAITED-DLR'].map((s) => normalizeStatus(s, null));
    const final = ['Delivered', 'Undelivered', 'Failed', 'Not Sent', 'EXPIRED'].map((s) => normalizeStatus(s, null));
    for (const f of final) {
      for (const i of interim) expect(statusRank(f.cls, f.final)).toBeGreaterThan(statusRank(i.cls, i.final));
    }
  });
});
