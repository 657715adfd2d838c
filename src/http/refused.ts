/**
 * What is kept of callbacks refused before they proved anything (unknown profile, failed
 * auth): a small ring of their metadata, never their bodies. Anyone can send those, so a flood
 * of them must cost a fixed amount of memory and no disk at all.
 */

export interface RefusedNote {
  at: string;
  status: number;
  error: string;
  /** The profile name from the URL, cut to 64 characters. */
  profile: string;
  method: string;
  content_type: string | null;
  /** The declared content-length, when there was one. */
  bytes: number | null;
}

export class RefusedSample {
  private readonly ring: RefusedNote[] = [];
  private next = 0;

  constructor(readonly capacity = 100) {}

  note(n: RefusedNote): void {
    const kept: RefusedNote = { ...n, profile: n.profile.slice(0, 64), content_type: n.content_type?.slice(0, 128) ?? null };
    if (this.ring.length < this.capacity) this.ring.push(kept);
    else this.ring[this.next] = kept;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): RefusedNote[] {
    const n = this.ring.length;
    const out: RefusedNote[] = [];
    for (let i = 1; i <= n; i++) out.push(this.ring[(this.next - i + n) % n]!);
    return out;
  }
}
