/**
 * Kafka topics keep the destination contract, against the real broker (KAFKA_BROKERS; without
 * it this fails, never skips). The local sink and webhooks run the same suite as unit tests.
 */
import { createServer } from 'node:net';
import { destinationContract, type PeerRecord } from '../src/destinations/contract.js';
import { createDestinations } from '../src/destinations/index.js';
import { silentLogger } from '../src/log.js';
import { compileRoutes } from '../src/route/compile.js';
import { createTopics, kafkaBrokers, readTopics, uniqueTopic } from './support/kafka.js';

/** A port on 127.0.0.1 that nothing listens on: a broker that is down. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

destinationContract('Kafka topic (real broker)', {
  writesKafkaRecords: true,
  timeoutMs: 60_000,
  async open(peer) {
    const brokers = kafkaBrokers();
    const topic = uniqueTopic('contract');
    if (peer !== 'failing') await createTopics([topic]);
    const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { t: topic } }, rules: [{ name: 'all', to: ['kafka:t'] }] });
    const set = createDestinations(config, {
      kafkaBrokers: peer === 'failing' ? [`127.0.0.1:${await deadPort()}`] : brokers,
      sinkDir: '/nonexistent',
      logger: silentLogger,
      kafkaRequestTimeoutMs: 2_000,
    });
    return {
      destination: set.destinations.get('kafka:t')!,
      async received(atLeast): Promise<PeerRecord[]> {
        if (peer === 'failing') return [];
        const read = await readTopics([topic], (m) => m.length >= atLeast, 30_000, atLeast === 0 ? 500 : 0);
        return read.map((m) => ({
          eventId: m.headers['event-id']!,
          type: m.headers['event-type']!,
          key: m.key,
          value: m.value,
          kafka: { key: m.key!, value: m.value, headers: m.headers as never },
        }));
      },
      dispose: () => set.close(),
    };
  },
});
