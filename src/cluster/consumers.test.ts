import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { retriable } from './consumers.js';

describe('retriable', () => {
  it('turns any error from a batch handler into one kafkajs restarts its consumer after', () => {
    const fenced = new kafkajs.KafkaJSProtocolError(Object.assign(new Error('fenced'), { type: 'INVALID_PRODUCER_EPOCH', code: 47, retriable: false }));
    expect(fenced.retriable).toBe(false);
    const err = retriable(fenced);
    expect(err).toBeInstanceOf(kafkajs.KafkaJSError);
    // kafkajs looks at the deepest cause: there must be none that is not retriable.
    expect([err.retriable, err.cause, err.message]).toEqual([true, undefined, 'fenced']);
    expect(retriable('not an Error').message).toBe('not an Error');
  });
});
