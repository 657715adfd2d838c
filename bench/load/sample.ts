/**
 * The provider's POST sample with a message_id and id new to every run: a random run prefix and a
 * counter, so the router takes each callback as new and never its resend fast path.
 */
import { postSample } from '../../src/testing/samples.js';

/**
 * Bodies for one load process; `prefix` should be unique to the run and the phase.
 * @example const next = sampleBodies('r1a2b3-router'); next() // '{"sender":"TEST",...,"message_id":"r1a2b3-router-0:1",...}'
 */
export function sampleBodies(prefix: string): () => string {
  // The sample serialised once, with markers where the counter goes: a request costs a replace, not a stringify.
  const template = JSON.stringify(postSample({ message_id: `${prefix}-\u0000:1`, id: `${prefix}-\u0000` }));
  const [a, b, c] = template.split('\\u0000');
  let n = 0;
  return () => {
    const i = n++;
    return `${a}${i}${b}${i}${c}`;
  };
}
