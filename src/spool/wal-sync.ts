/**
 * The disk flush of a group commit, off the event loop. The spool runs SQLite in WAL mode with
 * `synchronous = NORMAL`: a commit appends its pages to the `-wal` file without waiting for the
 * disk, and SQLite itself syncs the WAL before each checkpoint, the database after it, and the
 * WAL header when the file is reused. What NORMAL does not do is make each commit survive a power
 * loss, which our 2xx promises; `WalSync` does that part: after a commit, one `fdatasync` of the
 * WAL file on libuv's thread pool, and the callbacks of that commit are answered when it is done.
 * With `synchronous = FULL` the same flush ran inside the commit, blocking the event loop for
 * about 3 ms a commit (16.6 % of the router's time under load, measured; issue 11).
 *
 * A sync asked for while one is running waits for the next one: the running one may have
 * started before the caller's commit was written. Every caller waiting then shares that next
 * flush, so under load there is at most one flush running and one waiting.
 */
import { fdatasync, openSync, closeSync } from 'node:fs';

export type DataSync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

export class WalSync {
  private fd: number | null = null;
  private running: Promise<void> | null = null;
  private waiting: Promise<void> | null = null;

  /**
   * `walPath`: the database's `-wal` file, or null for a database with no file (':memory:'),
   * where a sync resolves at once. `dataSync`: the flush, `fs.fdatasync` unless a test counts it.
   * @example new WalSync(`${db.name}-wal`)
   */
  constructor(
    private readonly walPath: string | null,
    private readonly dataSync: DataSync = fdatasync,
  ) {}

  /** Resolves once everything committed before this call is on disk; rejects if the flush failed. */
  sync(): Promise<void> {
    if (this.walPath === null) return Promise.resolve();
    if (!this.running) return this.start();
    // The running flush may have begun before the caller's commit: wait for a fresh one.
    this.waiting ??= this.running.then(
      () => this.startWaiting(),
      () => this.startWaiting(),
    );
    return this.waiting;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private startWaiting(): Promise<void> {
    this.waiting = null;
    return this.start();
  }

  private start(): Promise<void> {
    const flush = new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        // Opened on first use: the WAL file exists once the first commit wrote it. SQLite keeps
        // it (and its inode) while the database is open, truncated or not.
        fd = this.fd ??= openSync(this.walPath!, 'r');
      } catch (err) {
        reject(err);
        return;
      }
      this.dataSync(fd, (err) => (err ? reject(err) : resolve()));
    });
    const running = flush.finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }
}
