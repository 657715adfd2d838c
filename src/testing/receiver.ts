/** A real HTTP webhook receiver on 127.0.0.1 for tests: records every request, answers as told. */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveryEvent } from '../event.js';

export interface Received {
  /** When it arrived (ms epoch). */
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: DeliveryEvent };
}

/** A status, a status with headers, or 'hang' (never answer). */
export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** `answer` decides each reply from the request number (0-based); default 200. */
export async function startReceiver(answer: (n: number, r: Received) => Answer = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Received['json'];
      try {
        json = JSON.parse(body) as Received['json'];
      } catch {
        json = { type: '', timestamp: '', data: {} as DeliveryEvent };
      }
      const r: Received = { at: Date.now(), headers: req.headers, body, json };
      const a = answer(received.length, r);
      received.push(r);
      if (a === 'hang') {
        hanging.add(res);
        return;
      }
      const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
