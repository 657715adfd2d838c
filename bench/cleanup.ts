/** What the bench must undo however it ends (done, failed, Ctrl-C): processes, the broker, temp dirs. */

const pending = new Set<() => Promise<void> | void>();

/**
 * Registers an undo step; returns a function that runs it now (once) and forgets it.
 * @example const stop = onCleanup(() => child.kill()); ...; await stop()
 */
export function onCleanup(step: () => Promise<void> | void): () => Promise<void> {
  pending.add(step);
  return async () => {
    if (!pending.delete(step)) return;
    await step();
  };
}

/** Runs every step still registered, newest first; a failing step does not stop the others. */
export async function cleanUpAll(): Promise<void> {
  for (const step of [...pending].reverse()) {
    pending.delete(step);
    try {
      await step();
    } catch (err) {
      process.stderr.write(`bench: clean-up step failed: ${String(err)}\n`);
    }
  }
}
