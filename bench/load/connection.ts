/**
 * One keep-alive HTTP/1.1 connection that posts a body and waits for the whole answer. Raw
 * sockets rather than node:http's client: the client's own cost per request would otherwise
 * cap what one load process can offer well below the bare-Hono ceiling.
 */
import { connect, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

export interface Target {
  port: number;
  path: string;
}

export class Connection {
  private readonly socket: Socket;
  private readonly head: string;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (err: Error) => void } | null = null;
  private closed: Error | null = null;

  constructor(target: Target) {
    this.head = `POST ${target.path} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\ncontent-type: application/json\r\ncontent-length: `;
    this.socket = connect({ host: '127.0.0.1', port: target.port, noDelay: true });
    this.socket.on('data', (chunk) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closed ??= err;
      this.waiting?.reject(err);
      this.waiting = null;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  /** False once the peer closed it or it failed: make a new one. */
  get usable(): boolean {
    return this.closed === null;
  }

  /**
   * Posts `body` and resolves with the answer's status once its body has arrived.
   * @example const status = await conn.post(JSON.stringify(sample))
   */
  post(body: string): Promise<number> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(`${this.head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0 || !this.waiting) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyStart = end + HEADER_END.length;
    let complete: boolean;
    if (length) complete = this.buffered.length >= bodyStart + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) complete = this.buffered.length >= bodyStart + CHUNKED_END.length && this.buffered.subarray(-CHUNKED_END.length).equals(CHUNKED_END);
    else complete = true; // no body (204, 304)
    if (!complete) return;
    const status = Number(head.slice(9, 12));
    if (/\r\nconnection:\s*close/i.test(head)) this.closed = new Error('the server closed the connection');
    this.buffered = Buffer.alloc(0);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve(status);
  }
}
