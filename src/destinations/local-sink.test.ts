/** The local sink keeps the destination contract, against a real temp directory. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log.js';
import { compileRoutes } from '../route/compile.js';
import { destinationContract, type PeerRecord } from './contract.js';
import { createDestinations } from './index.js';

const TOPIC = 'contract.sms.events';

/** The sink file read back: one `{ topic, key, headers, value }` per line. */
function readSink(file: string): PeerRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const r = JSON.parse(line) as { topic: string; key: string; headers: Record<string, string>; value: unknown };
      const value = JSON.stringify(r.value);
      return { eventId: r.headers['event-id']!, type: r.headers['event-type']!, key: r.key, value, kafka: { key: r.key, value, headers: r.headers as never } };
    });
}

destinationContract('local sink (Kafka topic with no KAFKA_BROKERS)', {
  writesKafkaRecords: true,
  async open(peer) {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-sink-contract-'));
    const sinkDir = join(dir, 'sink');
    // A failing disk: the sink directory's path is taken by a file, so nothing can be written.
    if (peer === 'failing') writeFileSync(sinkDir, 'not a directory');
    const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { events: TOPIC } }, rules: [{ name: 'all', to: ['kafka:events'] }] });
    const set = createDestinations(config, { kafkaBrokers: [], sinkDir, logger: silentLogger });
    return {
      destination: set.destinations.get('kafka:events')!,
      received: async () => (peer === 'failing' ? [] : readSink(join(sinkDir, `${TOPIC}.jsonl`))),
      async dispose() {
        await set.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
