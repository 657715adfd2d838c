/** Polling for tests: wait until something observable is true, bounded in time. */
import { sleep } from '../sleep.js';

export { sleep };

/**
 * Polls until `check` is truthy or the timeout passes; returns the last value (so the assertion
 * that follows shows what was seen).
 * @example const hook = await waitFor(() => receiver.received.find((r) => r.json.data.event_id === id));
 */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = await check();
  while (!last && Date.now() < until) {
    await sleep(everyMs);
    last = await check();
  }
  return last;
}
