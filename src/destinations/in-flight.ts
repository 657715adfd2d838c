/** The work a destination has started and not finished, so `close()` can wait for all of it. */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  /**
   * Returns `p`, remembered until it settles.
   * @example deliver(batch) { return this.inFlight.track(this.send(batch)); }
   */
  track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.then(
      () => this.running.delete(p),
      () => this.running.delete(p),
    );
    return p;
  }

  /** Resolves once everything started so far has settled (work started meanwhile included). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
