/** The webhook receiver the unit tests use too: a real HTTP server on 127.0.0.1. */
export { startReceiver, type Answer, type Received, type Receiver } from '../../src/testing/receiver.js';
