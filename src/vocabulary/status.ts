/**
 * Kaleyra's status vocabulary, mapped onto one small set of classes. Kaleyra spells the same
 * status many ways ("Not Sent", "NOT-SENT", "NotSent"), so every comparison goes through
 * `statusKey`, which drops case, spaces, hyphens and underscores.
 */
import type { StatusClass, TraceGroup } from '@kaleyra-callback-router/delivery-events';

// The class and group names are the event contract's, so the package owns the lists.
export { STATUS_CLASSES, TRACE_GROUPS, type StatusClass, type TraceGroup } from '@kaleyra-callback-router/delivery-events';

/**
 * "NOT-SENT", "Not Sent" and "not_sent" all become "notsent".
 * @example statusKey(' Not-Sent ') === 'notsent'
 */
export function statusKey(value: string): string {
  return value.toLowerCase().replace(/[\s_-]+/g, '');
}

interface StatusMeaning {
  cls: StatusClass;
  final: boolean;
}

const STATUS: Record<string, StatusMeaning> = {};
function define(words: string[], cls: StatusClass, final: boolean): void {
  for (const w of words) STATUS[statusKey(w)] = { cls, final };
}
define(['Delivered', 'DELIVRD'], 'delivered', true);
define(['Undelivered', 'UNDELIV', 'EXPIRED'], 'undelivered', true);
define(['Failed'], 'failed', true);
// Not Sent: Kaleyra refused the message before any operator saw it.
// Only words the provider uses: an invented one ("Rejected", "Accepted") would hide a new word
// behind a guess instead of letting status_trace decide.
define(['Not Sent', 'NOT-SENT', 'NotSent'], 'rejected', true);
define(['Sent', 'Queued', 'AWAITED-DLR'], 'pending', false);
// NO-DLR-OPTR: the operator never acknowledged. Nothing more will come, but the fate is unknown.
// The same whether it arrives as the status or as the trace (see normalizeStatus).
define(['NO-DLR-OPTR'], 'unknown', true);

const TRACE_GROUP: Record<string, TraceGroup> = {};
function group(words: string[], g: TraceGroup): void {
  for (const w of words) TRACE_GROUP[statusKey(w)] = g;
}
group(
  [
    'NOT-ALLOWED', 'NO-CREDITS', 'SERIES-BLOCK', 'KLR-INV-NUMBER', 'SPAM', 'BLACKLIST', 'CON-DND',
    'INV-MOB-PATTRN', 'TEMPLATE-NOT-FOUND', 'INV-TEMPLATE-MATCH', 'SENDER-ID-NOT-FOUND', 'NOT-OPTIN',
    'OUTPUT-REJ', 'OPT-OUT', 'REJECTED-MULTIPART', 'DND-NUMB', 'SUBMIT-FAIL', 'NOTALLOWED', 'MAX-LIMIT',
    'INF-CREDIT',
  ],
  'not_sent',
);
group(
  [
    'INV-NUMBER', 'SERVER-ERR', 'SNDRID-NOT-ALLOTED', 'INVALID-SUB', 'ABSENT-SUB', 'HANDSET-ERR', 'BARRED',
    'NET-ERR', 'MEM-EXEC', 'FAILED', 'MOB-OFF', 'HANDSET-BUSY', 'SERIES-BLK', 'EXPIRED', 'REJECTED',
  ],
  'undelivered',
);
group(['MOB-NOTALLOWED', 'NUM-LIMIT'], 'failed');
// The codes Kaleyra's table lists only as "others seen": it gives them no group, and neither do
// we. Those that are status words (DELIVRD, AWAITED-DLR, ...) still carry their status meaning.
// DNDNUMB is among them too, but it is DND-NUMB (NOT-SENT) spelt without the hyphen, and spelling
// never matters here.
group(
  ['DELIVRD', 'UNDELIV', 'AWAITED-DLR', 'NO-DLR-OPTR', 'TIME-OUT-PROM', 'OPTOUT-REJ', 'INVALID-NUM', 'MAX-LENGTH', 'QUEUED', 'SENT'],
  'other',
);

const FROM_TRACE_GROUP: Record<TraceGroup, StatusMeaning | null> = {
  not_sent: { cls: 'rejected', final: true },
  undelivered: { cls: 'undelivered', final: true },
  failed: { cls: 'failed', final: true },
  delivered: { cls: 'delivered', final: true },
  pending: { cls: 'pending', final: false },
  other: null,
};

export interface NormalizedStatus {
  /** The class, from `status` when Kaleyra's word is known, else from `status_trace`. */
  cls: StatusClass;
  /** Whether no later report is expected for this message. */
  final: boolean;
  /** Kaleyra's table group for status_trace; null when there is no trace or it is new to us. */
  traceGroup: TraceGroup | null;
}

/**
 * Maps a status and its trace onto a class. The status wins when it is known (Kaleyra's own
 * sample pairs "Undelivered" with a NOT-SENT trace); the trace decides when the status is new.
 * @example normalizeStatus('Undelivered', 'REJECTED-MULTIPART') // { cls: 'undelivered', final: true, traceGroup: 'not_sent' }
 */
export function normalizeStatus(status: string, trace: string | null): NormalizedStatus {
  const traceKey = trace === null ? null : statusKey(trace);
  const traceGroup = traceKey === null ? null : (TRACE_GROUP[traceKey] ?? null);
  const byStatus = STATUS[statusKey(status)] ?? traceCodeAsStatus(status);
  // A trace that is itself a status word (NO-DLR-OPTR, DELIVRD) means what that word means.
  const byTrace = traceKey === null ? null : (STATUS[traceKey] ?? (traceGroup ? FROM_TRACE_GROUP[traceGroup] : null));
  const meaning = byStatus ?? byTrace;
  return meaning ? { cls: meaning.cls, final: meaning.final, traceGroup } : { cls: 'unknown', final: false, traceGroup };
}

/** Some senders put a trace code ("DELIVRD", "BLACKLIST") in `status` itself. */
function traceCodeAsStatus(status: string): StatusMeaning | null {
  const g = TRACE_GROUP[statusKey(status)];
  return g ? FROM_TRACE_GROUP[g] : null;
}

/** How far along its life a class is; a report with a lower rank than one already seen is stale. */
export function statusRank(cls: StatusClass, final: boolean): number {
  if (final) return 2;
  return cls === 'pending' ? 1 : 0;
}
