/**
 * The JSON of the events committed last, by their row: the dispatcher reads each new event back
 * within moments, once per destination, and a hit here spares inflating its stored body
 * (body-codec.ts), about 7-10 µs each. Bounded: the oldest is forgotten first. A miss (a backlog
 * after an outage, a restart) just decodes the stored body; the two are the same JSON.
 */
export class RecentBodies {
  private readonly bodies = new Map<number, { eventId: string; json: string }>();

  /** @example new RecentBodies(2048) // ~3 MB of event JSON at most */
  constructor(private readonly capacity: number) {}

  /** Called as the event's row is written (seq: its rowid). */
  remember(seq: number, eventId: string, json: string): void {
    this.bodies.set(seq, { eventId, json });
    if (this.bodies.size > this.capacity) this.bodies.delete(this.bodies.keys().next().value!);
  }

  /**
   * The JSON of row `seq` if it is still here and is the event `eventId`. The id is checked
   * because a rolled-back commit can leave a row number that a later event takes.
   */
  get(seq: number, eventId: string): string | undefined {
    const hit = this.bodies.get(seq);
    return hit && hit.eventId === eventId ? hit.json : undefined;
  }
}
