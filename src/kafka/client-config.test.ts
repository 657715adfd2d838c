import { generateKeyPairSync } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { CompressionTypes, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSSASLAuthenticationError, logLevel, type Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../log.js';
import { accessFailure } from './access-check.js';
import { describeKafkaClient, kafkaClientSettings, kafkaConfig, PLAINTEXT_KAFKA, securityOptions, withCompression, type KafkaClientEnv, type KafkaClientSettings } from './client-config.js';

const CERT = rootCertificates[0]!;
const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const FILES: Record<string, string> = { '/etc/kafka/ca.pem': CERT, '/etc/kafka/client.pem': CERT, '/etc/kafka/client.key': KEY, '/etc/kafka/notes.txt': 'not a certificate' };

/** Reads from FILES; anything else is missing, as readFileSync would say. */
function read(path: string): string {
  const text = FILES[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
  return text;
}

const settingsOf = (env: Partial<KafkaClientEnv>) => kafkaClientSettings({ KAFKA_COMPRESSION: 'none', ...env }, read);

function problems(env: Partial<KafkaClientEnv>): string {
  try {
    settingsOf(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const SCRAM = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'hunter2-secret' } as const;

describe('kafkaClientSettings', () => {
  it('is plaintext, no SASL and uncompressed when nothing is set (as before these settings)', () => {
    expect(settingsOf({})).toEqual(PLAINTEXT_KAFKA);
  });

  it('takes SASL from the three variables', () => {
    expect(settingsOf(SCRAM).sasl).toEqual({ mechanism: 'scram-sha-512', username: 'alice', password: 'hunter2-secret' });
  });

  it('turns TLS on with the system CAs for KAFKA_TLS=true alone', () => {
    expect(settingsOf({ KAFKA_TLS: true }).tls).toEqual({ rejectUnauthorized: true });
  });

  it('reads the CA, the client certificate and its key at start-up; any KAFKA_TLS_* setting implies TLS', () => {
    const s = settingsOf({ KAFKA_TLS_CA_FILE: '/etc/kafka/ca.pem', KAFKA_TLS_CERT_FILE: '/etc/kafka/client.pem', KAFKA_TLS_KEY_FILE: '/etc/kafka/client.key', KAFKA_TLS_SERVERNAME: 'kafka.internal' });
    expect(s.tls).toEqual({ ca: CERT, cert: CERT, key: KEY, servername: 'kafka.internal', rejectUnauthorized: true });
    expect(settingsOf({ KAFKA_TLS_REJECT_UNAUTHORIZED: false }).tls).toEqual({ rejectUnauthorized: false });
  });

  it.each<[string, Partial<KafkaClientEnv>, string]>([
    ['a missing file', { KAFKA_TLS_CA_FILE: '/etc/kafka/missing.pem' }, 'KAFKA_TLS_CA_FILE: cannot read /etc/kafka/missing.pem (ENOENT)'],
    ['a file that is not a certificate', { KAFKA_TLS_CA_FILE: '/etc/kafka/notes.txt' }, 'KAFKA_TLS_CA_FILE: /etc/kafka/notes.txt is not a PEM certificate'],
    ['a key file holding a certificate', { KAFKA_TLS_CERT_FILE: '/etc/kafka/client.pem', KAFKA_TLS_KEY_FILE: '/etc/kafka/ca.pem' }, 'KAFKA_TLS_KEY_FILE: /etc/kafka/ca.pem is not an unencrypted PEM private key'],
    ['a certificate without its key', { KAFKA_TLS_CERT_FILE: '/etc/kafka/client.pem' }, 'KAFKA_TLS_KEY_FILE: a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE'],
    ['a key without its certificate', { KAFKA_TLS_KEY_FILE: '/etc/kafka/client.key' }, 'KAFKA_TLS_CERT_FILE: a client certificate needs both'],
    ['TLS off with a CA file', { KAFKA_TLS: false, KAFKA_TLS_CA_FILE: '/etc/kafka/ca.pem' }, 'KAFKA_TLS: is false, but KAFKA_TLS_* settings are given'],
    ['a mechanism without a password', { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice' }, 'KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM=plain'],
    ['a mechanism without a user', { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'x' }, 'KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=plain'],
    ['a user and password without a mechanism', { KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'hunter2-secret' }, 'KAFKA_SASL_MECHANISM: must be set (plain, scram-sha-256 or scram-sha-512)'],
  ])('refuses %s, naming the variable', (_, env, message) => {
    const text = problems(env);
    expect(text).toContain(`environment is invalid:\n`);
    expect(text).toContain(`  - ${message}`);
    expect(text).not.toContain('hunter2-secret');
  });

  it('names every problem at once', () => {
    const text = problems({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_TLS_CA_FILE: '/nope', KAFKA_TLS_KEY_FILE: '/etc/kafka/client.key' });
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_TLS_CA_FILE', 'KAFKA_TLS_CERT_FILE']) expect(text).toContain(`- ${name}:`);
  });
});

describe('kafkaConfig and securityOptions', () => {
  const managed: KafkaClientSettings = { sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'pw' }, tls: { ca: CERT, servername: 'kafka.internal', rejectUnauthorized: true }, compression: 'gzip' };

  it('gives every client the same SASL and TLS', () => {
    const config = kafkaConfig({ clientId: 'kcr', brokers: ['k:9093'], security: managed, requestTimeoutMs: 5_000, retry: { retries: 0 } });
    expect(config).toMatchObject({
      clientId: 'kcr',
      brokers: ['k:9093'],
      ssl: { ca: CERT, servername: 'kafka.internal', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'pw' },
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    expect(securityOptions(managed)).toEqual({ ssl: config.ssl, sasl: config.sasl });
  });

  it('leaves ssl and sasl out for plaintext, so kafkajs connects as before', () => {
    expect(securityOptions(PLAINTEXT_KAFKA)).toEqual({});
    expect(kafkaConfig({ clientId: 'kcr', brokers: ['k:9092'], security: PLAINTEXT_KAFKA })).not.toHaveProperty('ssl');
  });

  it('logs kafkajs warnings through our logger when given one', () => {
    const config = kafkaConfig({ clientId: 'kcr', brokers: ['k:9092'], security: PLAINTEXT_KAFKA, logger: silentLogger });
    expect(config.logLevel).toBe(logLevel.WARN);
    expect(config.logCreator).toBeTypeOf('function');
  });

  it('describes the connection for logs without the password', () => {
    expect(describeKafkaClient(managed)).toBe('SASL_SSL (SCRAM-SHA-256 as alice), gzip');
    expect(describeKafkaClient(PLAINTEXT_KAFKA)).toBe('PLAINTEXT, uncompressed');
    expect(describeKafkaClient({ ...PLAINTEXT_KAFKA, tls: { rejectUnauthorized: true } })).toBe('SSL, uncompressed');
  });
});

describe('withCompression', () => {
  /** A producer that records what it was asked to send. */
  function recording() {
    const sent: unknown[] = [];
    const txn = { send: async (r: unknown) => void sent.push(['txn.send', r]), sendBatch: async (b: unknown) => void sent.push(['txn.sendBatch', b]), commit: async () => undefined };
    const producer = {
      send: async (r: unknown) => void sent.push(['send', r]),
      sendBatch: async (b: unknown) => void sent.push(['sendBatch', b]),
      transaction: async () => txn,
      connect: async () => undefined,
    } as unknown as Producer;
    return { producer, sent };
  }

  it('compresses every send, batch and transactional send with gzip', async () => {
    const { producer, sent } = recording();
    const p = withCompression(producer, 'gzip');
    await p.send({ topic: 't', messages: [] });
    await p.sendBatch({ topicMessages: [] });
    const txn = await p.transaction();
    await txn.send({ topic: 't', messages: [] });
    await txn.sendBatch({ topicMessages: [] });
    await txn.commit();
    expect(sent).toEqual([
      ['send', { compression: CompressionTypes.GZIP, topic: 't', messages: [] }],
      ['sendBatch', { compression: CompressionTypes.GZIP, topicMessages: [] }],
      ['txn.send', { compression: CompressionTypes.GZIP, topic: 't', messages: [] }],
      ['txn.sendBatch', { compression: CompressionTypes.GZIP, topicMessages: [] }],
    ]);
  });

  it("keeps a send's own choice, and leaves the producer alone for none", async () => {
    const { producer, sent } = recording();
    await withCompression(producer, 'gzip').send({ topic: 't', messages: [], compression: CompressionTypes.None });
    expect(sent).toEqual([['send', { compression: CompressionTypes.None, topic: 't', messages: [] }]]);
    expect(withCompression(producer, 'none')).toBe(producer);
  });
});

describe('accessFailure', () => {
  const security: KafkaClientSettings = { sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'hunter2-secret' }, tls: { ca: CERT, rejectUnauthorized: true }, compression: 'none' };
  // As kafkajs throws them: a connection error retried until it gives up, its cause the socket's.
  // kafkajs' typings give this class no constructor arguments; it takes the message like the others.
  const saslError = (message: string) => new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(message);
  const tlsError = (code: string, message: string) => new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError(`Connection error: ${message}`, { broker: '127.0.0.1:9093', code }), { retryCount: 0, retryTime: 0 });

  it.each<[string, unknown, string]>([
    [
      'a refused SCRAM password',
      saslError('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'),
      'KAFKA_SASL_PASSWORD: SASL SCRAM-SHA-512 authentication failed for user alice (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD)',
    ],
    ['a refused password, wrapped', new KafkaJSNonRetriableError(saslError('SASL PLAIN authentication failed: Invalid username or password')), 'KAFKA_SASL_PASSWORD: SASL SCRAM-SHA-512 authentication failed'],
    ['a mechanism the broker does not offer', saslError('SASL SCRAM-SHA-512 mechanism is not supported by the server'), 'KAFKA_SASL_MECHANISM: the broker does not accept SASL SCRAM-SHA-512'],
    ['an unknown CA', tlsError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), "KAFKA_TLS_CA_FILE: the broker's certificate is not signed by a trusted CA (SELF_SIGNED_CERT_IN_CHAIN, trusted: the CA file)"],
    ['a certificate for another name', tlsError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), "KAFKA_TLS_SERVERNAME: the broker's certificate does not name the host connected to; set KAFKA_TLS_SERVERNAME"],
    ['an expired certificate', tlsError('CERT_HAS_EXPIRED', 'certificate has expired'), "KAFKA_TLS: the broker's certificate is not valid now (CERT_HAS_EXPIRED)"],
    ['a client certificate refused', tlsError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'sslv3 alert bad certificate'), 'KAFKA_TLS_CERT_FILE: the broker refused the TLS handshake (ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE)'],
    ['a listener that is not TLS', tlsError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), "KAFKA_TLS: TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER); is the broker's listener TLS?"],
  ])('makes %s a start-up error naming the variable', (_, err, message) => {
    const fatal = accessFailure(err, security);
    expect(fatal).toBeInstanceOf(ConfigError);
    expect(fatal!.message).toContain(`  - ${message}`);
    expect(fatal!.message).not.toContain('hunter2-secret');
  });

  it.each<[string, unknown]>([
    ['a broker that is down', tlsError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9093')],
    ['a timeout', new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection timeout'), { retryCount: 0, retryTime: 0 })],
    ['something else', new Error('boom')],
  ])('leaves %s to the retries (not fatal)', (_, err) => {
    expect(accessFailure(err, security)).toBeNull();
  });
});
