/**
 * At most one alert per key per window, so a flapping destination or a dead-letter storm does
 * not flood the on-call. The first alert of a key goes at once; the ones that follow inside
 * the window are held, the latest replacing the earlier, and that latest one is released when
 * the window ends, saying how many it stands for. Pure: the caller passes the clock.
 */

/** An item to send, and how many earlier ones of its key were folded into it (not sent). */
export interface Released<T> {
  item: T;
  suppressed: number;
}

interface KeyState<T> {
  sentAt: number;
  held: T | null;
  /** Offered since the last send and not sent themselves (the held one included). */
  suppressed: number;
}

export class Throttle<T> {
  private readonly keys = new Map<string, KeyState<T>>();

  /** @param windowMs at least this long between two sends of one key (may be changed at run time). */
  constructor(public windowMs: number) {}

  /**
   * The item to send now, or null when it is held until its key's window ends.
   * @example throttle.offer('destination.circuit webhook:crm', alert, Date.now()) // { item: alert, suppressed: 0 }
   */
  offer(key: string, item: T, now: number): Released<T> | null {
    const state = this.keys.get(key);
    if (!state || now - state.sentAt >= this.windowMs) {
      // Whatever was held is older than this one, which says the current state: fold it in.
      this.keys.set(key, { sentAt: now, held: null, suppressed: 0 });
      return { item, suppressed: state?.suppressed ?? 0 };
    }
    state.held = item;
    state.suppressed++;
    return null;
  }

  /**
   * The held items whose window has ended, to send now; forgets keys that went quiet.
   * @example for (const r of throttle.release(Date.now())) send(r.item, r.suppressed)
   */
  release(now: number): Released<T>[] {
    const out: Released<T>[] = [];
    for (const [key, state] of this.keys) {
      if (now - state.sentAt < this.windowMs) continue;
      if (state.held === null) {
        this.keys.delete(key);
        continue;
      }
      out.push({ item: state.held, suppressed: state.suppressed - 1 });
      this.keys.set(key, { sentAt: now, held: null, suppressed: 0 });
    }
    return out;
  }

  /** When the next held item is due for release (ms epoch), or null when none is held. */
  nextReleaseAt(): number | null {
    let next: number | null = null;
    for (const state of this.keys.values()) {
      if (state.held !== null && (next === null || state.sentAt + this.windowMs < next)) next = state.sentAt + this.windowMs;
    }
    return next;
  }
}
