/** Waiting, for code and tests alike. */

/**
 * Resolves after `ms`. With `unref`, the timer does not keep the process alive on its own (a
 * shutdown deadline, a retry pause).
 * @example await sleep(50)
 */
export function sleep(ms: number, opts: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (opts.unref) t.unref();
  });
}
