/**
 * Managed Kafka (issue 9): the router against a real broker with a SASL_SSL listener made for
 * this file (test/support/kafka-sasl.ts: its own CA, a certificate naming kafka.kcr.test only,
 * client certificates required, SCRAM and PLAIN users). Callbacks round-trip with SCRAM-SHA-512,
 * SCRAM-SHA-256 and PLAIN, gzip-compressed as the broker stores them, in the embedded and the
 * cluster mode; the consumer helper and
 * `kcr tail` read them back with the same settings; a wrong CA, a wrong server name and a wrong
 * password stop the start-up with the variable to fix (the real process: exit code 2), while an
 * unreachable broker does not. Needs Java 17 and the Kafka jars (scripts/kafka.sh fetch); fails
 * without them. Runs on Kafka 4.x too (KAFKA_VERSION=4.1.2).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CompressionTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeDeliveryEvents } from '../src/consume/consumer.js';
import { ConfigError } from '../src/errors.js';
import type { DeliveryEvent } from '../src/event.js';
import { securityOptions } from '../src/kafka/client-config.js';
import type { RoutesConfig } from '../src/route/define-routes.js';
import { loadSettings } from '../src/settings.js';
import { uniqueTopic, waitFor } from './support/kafka.js';
import { BROKER_NAME, startSaslBroker, USERS, type SaslBroker } from './support/kafka-sasl.js';
import { ROOT, freePort, postCallback, postSample, startTestRouter, tempDir, writeConfig } from './support/router.js';

type User = (typeof USERS)[keyof typeof USERS];

describe('managed Kafka: SASL_SSL, client certificates and gzip against a real broker', () => {
  const dir = tempDir();
  let broker: SaslBroker;

  /** The router's environment for the managed broker, as an operator would set it. */
  const managedEnv = (user: User = USERS.scram512, overrides: Record<string, string | undefined> = {}): Record<string, string> => {
    const env: Record<string, string | undefined> = {
      KAFKA_BROKERS: broker.brokers,
      KAFKA_SASL_MECHANISM: user.mechanism,
      KAFKA_SASL_USERNAME: user.username,
      KAFKA_SASL_PASSWORD: user.password,
      KAFKA_TLS_CA_FILE: broker.files.ca,
      KAFKA_TLS_CERT_FILE: broker.files.cert,
      KAFKA_TLS_KEY_FILE: broker.files.key,
      KAFKA_TLS_SERVERNAME: BROKER_NAME,
      KAFKA_COMPRESSION: 'gzip',
      ...overrides,
    };
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  };
  const routes = (topic: string): RoutesConfig => ({ profiles: { default: {} }, kafka: { topics: { events: topic } }, rules: [{ name: 'all', to: ['kafka:events'] }] });

  beforeAll(async () => {
    broker = startSaslBroker({ plaintext: await freePort(), controller: await freePort(), saslSsl: await freePort() });
  }, 300_000);

  afterAll(() => {
    broker?.stop();
    dir.remove();
  });

  /** Posts the provider's sample to a router on the managed broker and waits until the broker has stored it. */
  async function roundTrip(user: User, topic: string): Promise<string> {
    const router = await startTestRouter(routes(topic), { dataDir: join(dir.path, `${user.username}-${topic}`), env: managedEnv(user) });
    try {
      const res = await postCallback(router.url, postSample({ recipient: '919620838123' }));
      expect(res.status).toBe(200);
      await waitFor(() => broker.storedBatches(topic).length > 0, 60_000);
      return ((await res.json()) as { event_id: string }).event_id;
    } finally {
      await router.close();
    }
  }

  it('delivers a callback over SASL_SSL with SCRAM-SHA-512, gzip-compressed, and the consumer helper reads it back', async () => {
    const topic = uniqueTopic('sasl-scram512');
    const eventId = await roundTrip(USERS.scram512, topic);
    // The batch as the broker stored it: the codec is the producer's (compression.type=producer).
    expect(broker.storedBatches(topic)).toEqual([{ compression: CompressionTypes.GZIP, records: 1 }]);

    const seen: DeliveryEvent[] = [];
    const consumer = await consumeDeliveryEvents({
      brokers: [broker.brokers],
      groupId: `kcr-sasl-${eventId}`,
      topics: [topic],
      fromBeginning: true,
      kafka: securityOptions(loadSettings(managedEnv()).kafka),
      onEvent: (e) => void seen.push(e),
    });
    try {
      await waitFor(() => seen.length > 0, 60_000);
    } finally {
      await consumer.stop();
    }
    expect(seen.map((e) => [e.event_id, e.recipient, e.status])).toEqual([[eventId, '919620838123', 'Undelivered']]);
  });

  it.each([['SCRAM-SHA-256', USERS.scram256], ['PLAIN', USERS.plain]])('authenticates with SASL %s too', async (_, user) => {
    const topic = uniqueTopic(`sasl-${user.mechanism}`);
    await roundTrip(user, topic);
    expect(broker.storedBatches(topic)).toEqual([{ compression: CompressionTypes.GZIP, records: 1 }]);
  });

  it('runs the cluster mode over SASL_SSL: the intake, the partition owners\' transactions and the output topic, all gzip', async () => {
    const topic = uniqueTopic('sasl-cluster');
    const prefix = `kcr-sasl-${randomBytes(4).toString('hex')}`;
    const env = { ...managedEnv(), ROUTER_MODE: 'cluster', CLUSTER_PREFIX: prefix, CLUSTER_PARTITIONS: '1', CLUSTER_SESSION_TIMEOUT_MS: '6000' };
    const router = await startTestRouter(routes(topic), { dataDir: join(dir.path, prefix), env });
    try {
      expect((await postCallback(router.url, postSample())).status).toBe(200);
      await waitFor(() => broker.storedBatches(topic).length > 0, 90_000);
    } finally {
      await router.close();
    }
    // The edge's produce to the intake, and the owner's transactional produce to the output topic.
    expect(broker.storedBatches(`${prefix}.intake`)).toEqual([{ compression: CompressionTypes.GZIP, records: 1 }]);
    expect(broker.storedBatches(topic)).toEqual([{ compression: CompressionTypes.GZIP, records: 1 }]);
  });

  it('`kcr tail` reads the managed broker with the same variables', async () => {
    const topic = uniqueTopic('sasl-tail');
    await roundTrip(USERS.scram512, topic);
    const tail = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'tail', topic, '--from-beginning'], { cwd: ROOT, env: { ...process.env, ...managedEnv(USERS.scram256) } });
    let out = '';
    tail.stdout.on('data', (d: Buffer) => (out += d.toString()));
    tail.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('\n'), 60_000);
      expect(out).toMatch(new RegExp(`^${topic.replace(/\./g, '\\.')}\\[\\d\\]@0 .* IN \\+919620838123 Undelivered`));
    } finally {
      tail.kill('SIGTERM');
    }
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['a CA that did not sign the broker certificate', { KAFKA_TLS_CA_FILE: 'other' }, /- KAFKA_TLS_CA_FILE: the broker's certificate is not signed by a trusted CA \(SELF_SIGNED_CERT_IN_CHAIN, trusted: the CA file\)/],
    ['the system CAs only', { KAFKA_TLS_CA_FILE: undefined, KAFKA_TLS: 'true' }, /- KAFKA_TLS_CA_FILE: the broker's certificate is not signed by a trusted CA \(SELF_SIGNED_CERT_IN_CHAIN, trusted: the system CAs\)/],
    ['no server name (the certificate names kafka.kcr.test, not 127.0.0.1)', { KAFKA_TLS_SERVERNAME: undefined }, /- KAFKA_TLS_SERVERNAME: the broker's certificate does not name the host connected to; set KAFKA_TLS_SERVERNAME/],
    ['a server name the certificate does not hold', { KAFKA_TLS_SERVERNAME: 'kafka.example.com' }, /- KAFKA_TLS_SERVERNAME: .*\(KAFKA_TLS_SERVERNAME=kafka\.example\.com\)/],
    ['no client certificate', { KAFKA_TLS_CERT_FILE: undefined, KAFKA_TLS_KEY_FILE: undefined }, /- KAFKA_TLS_CERT_FILE: the broker refused the TLS handshake \(ERR_SSL_\w+\); does it require a client certificate\?/],
    ['a wrong PLAIN password', { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: USERS.plain.username, KAFKA_SASL_PASSWORD: 'not-the-password' }, /- KAFKA_SASL_PASSWORD: SASL PLAIN authentication failed for user carol/],
  ])('refuses to start with %s, naming the variable to fix', async (_, overrides, message) => {
    const env = managedEnv(USERS.scram512, { ...overrides, ...(overrides.KAFKA_TLS_CA_FILE === 'other' && { KAFKA_TLS_CA_FILE: broker.files.otherCa }) });
    const started = Date.now();
    const err = await startTestRouter(routes(uniqueTopic('refused')), { dataDir: join(dir.path, `refused-${started}`), env }).then(
      async (r) => {
        await r.close();
        throw new Error('the router started');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('not-the-password');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('stops the real server on a wrong SCRAM password: exit code 2 and the variable, user and mechanism named, no retry loop', async () => {
    const config = writeConfig(dir.path, JSON.stringify(routes(uniqueTopic('wrong-password'))));
    const env = { ...process.env, ...managedEnv(USERS.scram512, { KAFKA_SASL_PASSWORD: 'Wrong-Password-123' }), PORT: '0', DATA_DIR: join(dir.path, 'wrong-password'), LOG_LEVEL: 'debug' };
    const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/server.ts'), '--config', config], { cwd: ROOT, env });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000).unref());
    const result = await Promise.race([exited, timeout]);
    proc.kill('SIGKILL');
    expect(result, out).toBe(2);
    expect(out).toContain('kaleyra-callback-router: environment is invalid:\n  - KAFKA_SASL_PASSWORD: SASL SCRAM-SHA-512 authentication failed for user alice (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)');
    // Not even at debug level does the password reach the output.
    expect(out).not.toContain('Wrong-Password-123');
  });

  it('starts while the managed broker is unreachable (only credentials and certificates are fatal) and spools the callbacks', async () => {
    const env = managedEnv(USERS.scram512, { KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    const router = await startTestRouter(routes(uniqueTopic('unreachable')), { dataDir: join(dir.path, 'unreachable'), env });
    try {
      expect((await postCallback(router.url, postSample())).status).toBe(200);
    } finally {
      await router.close();
    }
  });
});
