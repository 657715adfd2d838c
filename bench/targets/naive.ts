/**
 * The naive design: Hono + one awaited kafkajs send per request (acks=all), answering once
 * Kafka has acknowledged it. Durable, but every callback pays a broker round trip alone.
 * PORT and KAFKA_BROKERS from env.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const TOPIC = 'bench.naive';
const kafka = new Kafka({ clientId: 'bench-naive', brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] });
await admin.disconnect();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();

const app = new Hono();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/callbacks/:profile', async (c) => {
  const body = await c.req.text();
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: body }] });
  return c.json({ status: 'accepted' });
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
process.on('SIGTERM', () => server.close(() => void producer.disconnect().finally(() => process.exit(0))));
