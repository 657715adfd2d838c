/**
 * What the operator operations ask of the store and of the intake: the few methods they call,
 * grouped as the spool groups them (a Spool is one), and the plain records they hand back.
 */

import type { DeliveryFilter, DeliveryRecord, RejectedFilter, RejectedRecord } from '../spool/types.js';
import type { ReingestSummary } from '../ingest/intake.js';
import type { MessageTimeline } from '../spool/timeline.js';
import type { BulkOptions, BulkResult } from '../spool/chunked.js';

export type { BulkOptions, BulkResult, MessageTimeline, ReingestSummary };
/** A delivery as listed (a dead letter): its event, destination, attempts and last error. */
export type DeliveryRow = DeliveryRecord;
/** Which deliveries to list or replay; times are ms epoch. None set means all. */
export type DeliverySelection = DeliveryFilter;
/** Which stored events to backfill a destination with. */
export type EventSelection = Pick<DeliveryFilter, 'eventId' | 'messageKey' | 'since' | 'until' | 'limit'>;
/** A refused payload as kept, with how it came and what it became once re-ingested. */
export type RejectedRow = RejectedRecord;
/** Which refused payloads to list or re-ingest; times are ms epoch. */
export type RejectedSelection = Pick<RejectedFilter, 'ids' | 'profile' | 'since' | 'until' | 'limit'>;

export interface DeliveryCount {
  destination: string;
  state: string;
  n: number;
}

export interface DisabledDestination {
  disabledAt: number;
  reason: string;
}

/** The parts of the store the operations use (a Spool is one). */
export interface OperationsStore {
  operations: {
    listDeliveries(state: 'dead', f: DeliverySelection): DeliveryRow[];
    /** Queues the selection again, in short transactions (or, dry run, counts it); see SpoolOperations.replayInChunks. */
    replayInChunks(f: DeliverySelection, state: 'dead' | 'done', opts: BulkOptions): Promise<BulkResult>;
    /** Adds a delivery to `destination` for the selected events it has not had (cluster mode: queued in Kafka). */
    backfillInChunks(destination: string, f: EventSelection, opts: BulkOptions): Promise<BulkResult>;
    counts(): DeliveryCount[];
  };
  queue: {
    disabledDestinations(): ReadonlyMap<string, DisabledDestination>;
    enableDestination(destination: string): boolean;
  };
  rejected: {
    list(f: RejectedSelection): RejectedRow[];
  };
  /** One message's timeline by its message_key, newest `limit` reports; null when nothing is kept. Absent: not kept here. */
  timeline?: {
    message(messageKey: string, limit: number): MessageTimeline | null;
  };
}

/** Takes refused payloads in again, as if they had just arrived (an Intake is one). */
export interface Reingester {
  reingestRejected(filter: RejectedSelection): Promise<ReingestSummary>;
}
