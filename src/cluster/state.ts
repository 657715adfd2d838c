/**
 * The accept step's memory in cluster mode: per intake partition, each message's state (the
 * resends seen, its furthest status), restored from the compacted state topic and written back
 * to it in the same transaction as the outputs it led to. A batch works on a copy-on-write
 * overlay, so an aborted transaction leaves the partition's state as it was.
 */
import type { AcceptState } from '../accept/accept.js';
import { uuidFromName } from '../enrich/ids.js';

/** One message's state, as kept in memory and, as JSON, in the state topic. */
export interface MessageState {
  /** Rank of the furthest status seen (statusRank), or null. */
  r: number | null;
  /** That status as Kaleyra spelt it. */
  s: string | null;
  /** Event ids accepted for this message -> when (ms epoch): resends are recognised by these. */
  e: Record<string, number>;
}

/**
 * A partition's states as kept: message key -> the state's JSON, as in the topic. Text takes a
 * quarter of the memory of the parsed object (about 250 bytes a message against 900), and only
 * the messages of a batch are ever parsed.
 */
export type PartitionStates = Map<string, string>;

/** The key of the markers a new owner writes to find the end of a partition's state. */
export const MARKER_KEY = '\u0000kcr-marker';

/** Parses a state record's value; null for a value this version cannot read. */
export function decodeState(value: string | undefined): MessageState | null {
  if (value === undefined) return null;
  try {
    const s = JSON.parse(value) as Partial<MessageState>;
    if (typeof s !== 'object' || s === null || typeof s.e !== 'object' || s.e === null) return null;
    return { r: typeof s.r === 'number' ? s.r : null, s: typeof s.s === 'string' ? s.s : null, e: { ...s.e } };
  } catch {
    return null;
  }
}

/**
 * The changes one batch makes to one partition's state, over the state as committed.
 * @example
 * const batch = new StateBatch(partitionState, retentionMs);
 * acceptEvent(event, batch.forMessage(event.message_key), opts);
 * // after the transaction commits:
 * batch.apply();
 */
export class StateBatch {
  readonly changed = new Map<string, MessageState>();
  private encoded = new Map<string, string>();

  constructor(
    private readonly base: PartitionStates,
    private readonly retentionMs: number,
  ) {}

  /** The AcceptState of one message (every call of the accept step is about one message). */
  forMessage(messageKey: string): AcceptState {
    const read = (): MessageState | null => this.changed.get(messageKey) ?? decodeState(this.base.get(messageKey));
    const write = (): MessageState => {
      let s = this.changed.get(messageKey);
      if (!s) {
        // A fresh parse: the committed text stays as it is until the transaction commits.
        s = decodeState(this.base.get(messageKey)) ?? { r: null, s: null, e: {} };
        this.changed.set(messageKey, s);
      }
      return s;
    };
    return {
      // The event id is made from the resend key (eventIdOf), so the ids seen are the keys seen.
      resendOf: (key, since) => {
        const id = uuidFromName(key);
        const at = read()?.e[id];
        return at !== undefined && at >= since ? id : null;
      },
      hasEvent: (eventId) => read()?.e[eventId] !== undefined,
      rememberResend: (_key, eventId, at) => {
        write().e[eventId] = at;
      },
      rankOf: () => read()?.r ?? null,
      advance: (_key, rank, status) => {
        const s = write();
        s.r = rank;
        s.s = status;
      },
    };
  }

  /** The state records to write, old event ids (past retention) left out. */
  records(partition: number, now: number): { key: string; value: string; partition: number }[] {
    const since = now - this.retentionMs;
    this.encoded = new Map();
    return [...this.changed].map(([key, s]) => {
      for (const [id, at] of Object.entries(s.e)) if (at < since) delete s.e[id];
      const value = JSON.stringify(s);
      this.encoded.set(key, value);
      return { key, value, partition };
    });
  }

  /** The transaction committed: the changes (as written by `records`) become the partition's state. */
  apply(): void {
    for (const [key, value] of this.encoded) this.base.set(key, value);
  }
}
