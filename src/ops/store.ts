/**
 * What the operator operations ask of the store and of the intake: the few methods they call,
 * grouped as the spool groups them (a Spool is one), and the plain records they hand back.
 */

export type DeliveryState = 'pending' | 'done' | 'dead';

/** A delivery as listed (a dead letter): its event, destination, attempts and last error. */
export interface DeliveryRow {
  id: number;
  event_id: string;
  destination: string;
  message_key: string;
  state: DeliveryState;
  attempts: number;
  first_at: number;
  next_at: number;
  updated_at: number;
  last_code: string | null;
  last_error: string | null;
}

/** Which deliveries to list or replay; times are ms epoch. None set means all. */
export interface DeliverySelection {
  ids?: number[];
  destination?: string;
  eventId?: string;
  messageKey?: string;
  code?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** Which stored events to backfill a destination with. */
export type EventSelection = Pick<DeliverySelection, 'eventId' | 'messageKey' | 'since' | 'until' | 'limit'>;

export interface DeliveryCount {
  destination: string;
  state: string;
  n: number;
}

export interface DisabledDestination {
  disabledAt: number;
  reason: string;
}

/** A refused payload as kept, with how it came and what it became once re-ingested. */
export interface RejectedRow {
  id: number;
  received_at: number;
  profile: string;
  status_code: number;
  reason: string;
  content_type: string | null;
  body: string;
  method: string | null;
  query: string | null;
  replayed_event_id: string | null;
}

/** Which refused payloads to list or re-ingest; times are ms epoch. */
export interface RejectedSelection {
  ids?: number[];
  profile?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** The parts of the store the operations use (a Spool is one). */
export interface OperationsStore {
  operations: {
    listDeliveries(state: 'dead', f: DeliverySelection): DeliveryRow[];
    replay(f: DeliverySelection, state: 'dead' | 'done'): number;
    backfill(destination: string, f: EventSelection): number;
    counts(): DeliveryCount[];
  };
  queue: {
    disabledDestinations(): ReadonlyMap<string, DisabledDestination>;
    enableDestination(destination: string): boolean;
  };
  rejected: {
    list(f: RejectedSelection): RejectedRow[];
  };
}

/** What a re-ingest reports: how many were looked at, taken, taken as resends, still refused. */
export interface ReingestSummary {
  considered: number;
  accepted: number;
  duplicates: number;
  refused: { id: number; error: string; message: string }[];
}

/** Takes refused payloads in again, as if they had just arrived (an Intake is one). */
export interface Reingester {
  reingestRejected(filter: RejectedSelection): Promise<ReingestSummary>;
}
