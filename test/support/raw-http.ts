/** A client that speaks HTTP by hand over node:net, to send what fetch never would (half a request). */
import { connect } from 'node:net';

export interface RawExchange {
  /** Everything the server sent back (an error response, if any). */
  response: string;
  /** Milliseconds from the last byte written until the server closed the connection. */
  closedAfterMs: number;
  /** True when the connection was still open when `giveUpMs` passed (then we closed it). */
  stillOpen: boolean;
}

/**
 * Connects, writes `head` and then nothing, and waits for the server to answer and hang up.
 * @example await stallRequest(port, 'POST /callbacks/default HTTP/1.1\r\nHost: x\r\nContent-Le', 10_000)
 */
export function stallRequest(port: number, head: string, giveUpMs: number): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let sentAt = 0;
    let done = false;
    const finish = (stillOpen: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ response, closedAfterMs: Date.now() - sentAt, stillOpen });
      socket.destroy();
    };
    const timer = setTimeout(() => finish(true), giveUpMs);
    socket.on('connect', () => socket.write(head, () => (sentAt = Date.now())));
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('end', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('error', (err) => (sentAt ? finish(false) : reject(err)));
  });
}
