/**
 * The event's two closed vocabularies: the class a status falls in and the group Kaleyra's
 * status_trace table files a detail code under. The router maps Kaleyra's many spellings onto
 * them (src/enrich/status.ts); consumers switch on them, so they live here, with the contract.
 */

/** What became of the message, whatever words Kaleyra used for it. */
export const STATUS_CLASSES = ['delivered', 'undelivered', 'failed', 'rejected', 'pending', 'unknown'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** The group Kaleyra's own status_trace table files a detail code under. */
export const TRACE_GROUPS = ['not_sent', 'undelivered', 'failed', 'delivered', 'pending', 'other'] as const;
export type TraceGroup = (typeof TRACE_GROUPS)[number];
