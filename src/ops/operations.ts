/**
 * What an operator can do with the router's store: list dead letters, replay, backfill, list
 * and re-ingest refused payloads, enable a destination, count. The admin API and the CLI both
 * come here, so an operation means the same, and refuses the same input, through either door.
 */
import { OperationError, parseInput } from './errors.js';
import {
  BackfillInput,
  EnableInput,
  ListDeadLettersInput,
  ListRejectedInput,
  MAX_LIMIT,
  MessageTimelineInput,
  ReingestInput,
  ReplayInput,
} from './schemas.js';
import type { BulkOptions, BulkResult, DeliveryCount, DeliveryRow, DeliverySelection, DisabledDestination, MessageTimeline, OperationsStore, Reingester, ReingestSummary, RejectedRow, RejectedSelection } from './store.js';

export interface OperationsDeps {
  store: OperationsStore;
  /** Takes refused payloads in again; absent where no router config is loaded. */
  intake?: Reingester;
  /**
   * The destinations the config declares. Backfill may only name one of them; enable refuses a
   * ref that is neither declared nor disabled. Absent: backfill is refused, enable takes any ref.
   */
  configured?: readonly string[] | (() => readonly string[]);
  /** Called once work was queued, so a dispatcher in this process starts on it at once. */
  wake?: () => void;
}

export interface DestinationStats {
  counts: DeliveryCount[];
  disabled: Record<string, DisabledDestination>;
}

/** Told after each chunk of a replay or backfill: how many so far, of how many (the CLI prints it). */
export type Progress = Pick<BulkOptions, 'onProgress'>;

/**
 * A replay's answer: `{ replayed }`, as it always was. A dry run, which changes nothing, adds
 * `dry_run`, `would_replay` and the count per destination (`replayed` is 0).
 */
export interface ReplaySummary {
  replayed: number;
  dry_run?: true;
  would_replay?: number;
  destinations?: Record<string, number>;
}

/** A backfill's answer: `{ added }`; a dry run adds `dry_run`, `would_add` and `destinations`. */
export interface BackfillSummary {
  added: number;
  dry_run?: true;
  would_add?: number;
  destinations?: Record<string, number>;
}

const DEFAULT_DEAD_LETTERS = 100;
const DEFAULT_REJECTED = 50;
const DEFAULT_TIMELINE_CALLBACKS = 100;

/** What names deliveries to replay, in the order messages list them. */
const REPLAY_SELECTORS = ['ids', 'destination', 'event_id', 'message_key', 'code', 'since', 'until'] as const;
const REINGEST_SELECTORS = ['ids', 'profile', 'since', 'until'] as const;

const time = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** True when one of `fields` (or a limit) is given: a limit alone takes the oldest that many. */
function namesSome(input: Record<string, unknown>, fields: readonly string[]): boolean {
  return [...fields, 'limit'].some((f) => input[f] !== undefined);
}

/**
 * A replay request, checked: its input, and the rule that it names what to replay or says all
 * (an empty filter must never widen to every dead letter by accident).
 * @example replayRequest({ ids: [12] }) // { ids: [12] }; replayRequest({}) throws invalid_filter
 */
export function replayRequest(input: unknown): ReplayInput {
  const r = parseInput(ReplayInput, input);
  if (!r.all && !namesSome(r, REPLAY_SELECTORS)) {
    throw new OperationError('invalid_filter', (s) => `name what to replay (${REPLAY_SELECTORS.map((f) => s.field([f])).join(', ')}), or ${s.all}`);
  }
  return r;
}

/**
 * A re-ingest request, checked: its input, and the rule that it names what to re-ingest or says all.
 * Front doors that must load a config first check the request before they do.
 * @example reingestRequest({ profile: 'templated' }) // { profile: 'templated' }
 */
export function reingestRequest(input: unknown): ReingestInput {
  const r = parseInput(ReingestInput, input);
  if (!r.all && !namesSome(r, REINGEST_SELECTORS)) {
    throw new OperationError('invalid_filter', (s) => `name what to re-ingest (${REINGEST_SELECTORS.map((f) => s.field([f])).join(', ')}), or ${s.all}`);
  }
  return r;
}

/**
 * A backfill request, checked for its input alone (whether the destination is configured needs the config).
 * @example backfillRequest({ destination: 'webhook:new', since: '2026-11-01T00:00:00Z' })
 */
export function backfillRequest(input: unknown): BackfillInput {
  return parseInput(BackfillInput, input);
}

function deliverySelection(f: Omit<ReplayInput, 'state' | 'all'>): DeliverySelection {
  return {
    ids: f.ids,
    destination: f.destination,
    eventId: f.event_id,
    messageKey: f.message_key,
    code: f.code,
    since: time(f.since),
    until: time(f.until),
    limit: f.limit,
  };
}

/**
 * One message's timeline: its reports (raw, enriched, the rules they matched), their deliveries
 * with every attempt, and its furthest status. A message_id is its message_key, so either finds it.
 * @example messageTimeline(spool, { message_id: '3f6d…:1' }).callbacks[0]?.deliveries
 */
export function messageTimeline(store: Pick<OperationsStore, 'timeline'>, input: unknown): MessageTimeline {
  const { message_id: key, limit } = parseInput(MessageTimelineInput, input);
  if (!store.timeline) throw new OperationError('not_available', () => 'this store keeps no message timeline');
  const timeline = store.timeline.message(key, limit ?? DEFAULT_TIMELINE_CALLBACKS);
  if (!timeline) {
    throw new OperationError('unknown_message', (s) => `no message ${JSON.stringify(key)} is kept: ${s.field(['message_id'])} takes a message_id or a message_key, and reports older than the retention period are purged`);
  }
  return timeline;
}

/** A replay's answer from what the store did; the dispatcher is woken once work was queued. */
function replayAnswer(b: BulkResult, wake: () => void): ReplaySummary {
  if (b.dryRun) return { replayed: 0, dry_run: true, would_replay: b.count, destinations: b.destinations };
  wake();
  return { replayed: b.count };
}

/** A backfill's answer from what the store did; the dispatcher is woken once work was queued. */
function backfillAnswer(b: BulkResult, wake: () => void): BackfillSummary {
  if (b.dryRun) return { added: 0, dry_run: true, would_add: b.count, destinations: b.destinations };
  wake();
  return { added: b.count };
}

/** The configured refs as of now: `configured` is a function where a reload can change them. */
const refsNow = (refs: OperationsDeps['configured']): readonly string[] | undefined => (typeof refs === 'function' ? refs() : refs);

/**
 * The operations on one store. Each takes its input as sent (a JSON body, or fields read with
 * `fromText`), validates it with its schema and throws OperationError when it will not act.
 * @example createOperations({ store: spool, configured: destinationRefs(config) }).replay({ ids: [12] }) // resolves { replayed: 1 }
 */
export function createOperations({ store, intake, configured: refs, wake = () => undefined }: OperationsDeps) {
  const declared = (): string => (refsNow(refs) ?? []).join(', ');
  return {
    /** Dead letters, newest first. */
    listDeadLetters(input: unknown): DeliveryRow[] {
      const f = parseInput(ListDeadLettersInput, input);
      return store.operations.listDeliveries('dead', { ...deliverySelection(f), limit: f.limit ?? DEFAULT_DEAD_LETTERS });
    },

    /**
     * Queues dead (or, with `state: "done"`, delivered) deliveries again with fresh attempts, in
     * short transactions; `dry_run` counts them per destination and changes nothing. The input
     * is checked at once (a refusal throws).
     */
    replay(input: unknown, progress: Progress = {}): Promise<ReplaySummary> {
      const r = replayRequest(input);
      return store.operations.replayInChunks(deliverySelection(r), r.state ?? 'dead', { dryRun: r.dry_run, ...progress }).then((b) => replayAnswer(b, wake));
    },

    /**
     * Adds a delivery to a configured destination for stored events it has not had. The input
     * is checked at once (a refusal throws); the store's work may take a while (cluster mode
     * reads the intake topic).
     */
    backfill(input: unknown, progress: Progress = {}): Promise<BackfillSummary> {
      const r = backfillRequest(input);
      if (!refsNow(refs)?.includes(r.destination)) {
        throw new OperationError('invalid_filter', (s) => `"${s.field(['destination'])}" must name a configured destination (${declared()})`);
      }
      const { eventId, messageKey, since, until, limit } = deliverySelection(r);
      return store.operations.backfillInChunks(r.destination, { eventId, messageKey, since, until, limit }, { dryRun: r.dry_run, ...progress }).then((b) => backfillAnswer(b, wake));
    },

    /** Refused payloads as kept, newest first. */
    listRejected(input: unknown): RejectedRow[] {
      const f = parseInput(ListRejectedInput, input);
      return store.rejected.list({ profile: f.profile, since: time(f.since), until: time(f.until), limit: f.limit ?? DEFAULT_REJECTED });
    },

    /**
     * Takes refused payloads in again, oldest first. `defaultLimit` is how many when the input
     * says no limit: a request answers within its timeout, a terminal can wait for more.
     */
    async reingestRejected(input: unknown, defaultLimit = MAX_LIMIT): Promise<ReingestSummary> {
      const r = reingestRequest(input);
      if (!intake) throw new OperationError('not_available', () => 're-ingest needs the router');
      const which: RejectedSelection = { ids: r.ids, profile: r.profile, since: time(r.since), until: time(r.until) };
      const summary = await intake.reingestRejected({ ...which, limit: r.limit ?? defaultLimit });
      wake();
      return summary;
    },

    /** Enables a destination again; `enabled: false` when it was not disabled. */
    enable(input: unknown): { enabled: boolean } {
      const { ref } = parseInput(EnableInput, input);
      // One disabled but since dropped from the config can still be cleared.
      if (!(refsNow(refs)?.includes(ref) ?? true) && !store.queue.disabledDestinations().has(ref)) {
        throw new OperationError('unknown_destination', () => `no destination "${ref}" is configured (${declared()})`);
      }
      const enabled = store.queue.enableDestination(ref);
      wake();
      return { enabled };
    },

    /** One message's timeline (see messageTimeline). */
    messageTimeline: (input: unknown): MessageTimeline => messageTimeline(store, input),

    /** Deliveries per destination and state, and the destinations disabled. */
    stats(): DestinationStats {
      return { counts: store.operations.counts(), disabled: Object.fromEntries(store.queue.disabledDestinations()) };
    },
  };
}

export type Operations = ReturnType<typeof createOperations>;
