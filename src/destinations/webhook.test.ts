/** Webhooks keep the destination contract, against a real HTTP receiver on 127.0.0.1. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../log.js';
import { compileRoutes } from '../route/compile.js';
import { destinationContract, type PeerBehaviour, type PeerRecord } from './contract.js';
import { createDestinations } from './index.js';

/** A receiver that answers 200, 503, or 200 after 300 ms; keeps what each request carried. */
async function startPeer(peer: PeerBehaviour): Promise<{ url: string; records: PeerRecord[]; close(): Promise<void> }> {
  const records: PeerRecord[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { message_key?: string } };
      records.push({ eventId: String(req.headers['webhook-id']), type: json.type, key: json.data.message_key ?? null, value: JSON.stringify(json.data) });
      const answer = () => res.writeHead(peer === 'failing' ? 503 : 200, { 'content-type': 'application/json' }).end('{}');
      if (peer === 'slow') setTimeout(answer, 300);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    records,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

destinationContract('webhook', {
  writesKafkaRecords: false,
  async open(peer) {
    const receiver = await startPeer(peer);
    const config = compileRoutes({ profiles: { default: {} }, webhooks: { crm: { url: receiver.url } }, rules: [{ name: 'all', to: ['webhook:crm'] }] });
    const set = createDestinations(config, { kafkaBrokers: [], sinkDir: '/nonexistent', logger: silentLogger });
    return {
      destination: set.destinations.get('webhook:crm')!,
      received: async () => [...receiver.records],
      async dispose() {
        await set.close();
        await receiver.close();
      },
    };
  },
});
