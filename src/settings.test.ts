import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { argvSettings, loadSettings } from './settings.js';

function settingsError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadSettings to throw a ConfigError');
}

describe('loadSettings', () => {
  it('has a default for everything', () => {
    expect(loadSettings({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: null,
      kafkaBrokers: [],
      dataDir: resolve('data'),
      spoolPath: resolve('data', 'spool.db'),
      sinkDir: resolve('data', 'sink'),
      maxBodyBytes: 256 * 1024,
      sentTimeZone: null,
      dedupeWindowMs: 600_000,
      retentionMs: 168 * 3_600_000,
      spoolCompression: 'deflate',
      // On a thread of its own when there is a core to spare.
      spoolCompressionThread: availableParallelism() > 1,
      shutdownTimeoutMs: 10_000,
      adminToken: undefined,
      kafkaRequestTimeoutMs: 15_000,
      dispatchPollMs: 1_000,
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 },
      cluster: null,
      kafka: { sasl: null, tls: null, compression: 'none' },
      configWatch: { enabled: false, debounceMs: 500 },
    });
  });

  it('treats empty and undefined variables as unset', () => {
    expect(loadSettings({ PORT: '', SENT_TIME_ZONE: '', KAFKA_BROKERS: undefined })).toEqual(loadSettings({}));
  });

  it('ignores variables it does not know', () => {
    expect(loadSettings({ PATH: '/usr/bin', HOME: '/root' })).toEqual(loadSettings({}));
  });

  it('reads every variable', () => {
    expect(
      loadSettings({
        PORT: '9000',
        HOST: '127.0.0.1',
        PUBLIC_URL: 'https://callbacks.example.com',
        KAFKA_BROKERS: 'kafka-1:9092',
        DATA_DIR: '/var/lib/router',
        MAX_BODY_BYTES: '1024',
        SENT_TIME_ZONE: 'Asia/Kolkata',
        DEDUPE_WINDOW_MS: '0',
        RETENTION_HOURS: '1.5',
        SPOOL_COMPRESSION: 'NONE',
        SPOOL_COMPRESSION_THREAD: 'false',
        SHUTDOWN_TIMEOUT_MS: '500',
        ADMIN_TOKEN: 'a-long-admin-token',
        KAFKA_REQUEST_TIMEOUT_MS: '2000',
        DISPATCH_POLL_MS: '50',
        HTTP_HEADERS_TIMEOUT_MS: '2000',
        HTTP_REQUEST_TIMEOUT_MS: '1000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '700',
        ROUTER_MODE: 'cluster',
        ROUTER_ROLE: 'ingest',
        CLUSTER_PREFIX: 'acme.kcr',
        CLUSTER_PARTITIONS: '24',
        CLUSTER_REPLICATION_FACTOR: '3',
        INTAKE_ACK_TIMEOUT_MS: '8000',
        CLUSTER_SESSION_TIMEOUT_MS: '12000',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'router',
        KAFKA_SASL_PASSWORD: ' pass word ',
        KAFKA_TLS: 'true',
        KAFKA_TLS_SERVERNAME: 'kafka.internal',
        KAFKA_TLS_REJECT_UNAUTHORIZED: 'false',
        KAFKA_COMPRESSION: 'gzip',
        CONFIG_WATCH: 'true',
        CONFIG_WATCH_DEBOUNCE_MS: '250',
      }),
    ).toEqual({
      port: 9000,
      host: '127.0.0.1',
      publicUrl: 'https://callbacks.example.com',
      kafkaBrokers: ['kafka-1:9092'],
      dataDir: '/var/lib/router',
      spoolPath: '/var/lib/router/spool.db',
      sinkDir: '/var/lib/router/sink',
      maxBodyBytes: 1024,
      sentTimeZone: 'Asia/Kolkata',
      dedupeWindowMs: 0,
      retentionMs: 5_400_000,
      spoolCompression: 'none',
      spoolCompressionThread: false,
      shutdownTimeoutMs: 500,
      adminToken: 'a-long-admin-token',
      kafkaRequestTimeoutMs: 2_000,
      dispatchPollMs: 50,
      // A request timeout shorter than the headers timeout is raised to it (Node requires that).
      http: { headersTimeoutMs: 2_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 700 },
      cluster: { role: 'ingest', prefix: 'acme.kcr', partitions: 24, replicationFactor: 3, intakeAckTimeoutMs: 8_000, sessionTimeoutMs: 12_000 },
      // A password is taken as it is, spaces and all.
      kafka: { sasl: { mechanism: 'scram-sha-512', username: 'router', password: ' pass word ' }, tls: { servername: 'kafka.internal', rejectUnauthorized: false }, compression: 'gzip' },
      configWatch: { enabled: true, debounceMs: 250 },
    });
  });

  describe('PORT', () => {
    it.each([['0', 0], ['65535', 65_535], ['8080', 8080]])('%j is port %i', (port, n) => {
      expect(loadSettings({ PORT: port }).port).toBe(n);
    });

    it.each([['abc'], ['-1'], ['65536'], ['80.5'], ['80 81']])('%j is a ConfigError naming PORT', (port) => {
      const err = settingsError({ PORT: port });
      expect(err.message).toContain('environment is invalid');
      expect(err.message).toMatch(/^ {2}- PORT: /m);
    });

    it('a blank PORT is unset like an empty one (8080), not port 0', () => {
      expect(loadSettings({ PORT: '  ' }).port).toBe(8080);
    });
  });

  describe('KAFKA_BROKERS', () => {
    it.each<[string, string[]]>([
      ['localhost:9092', ['localhost:9092']],
      ['kafka-1:9092,kafka-2:9093', ['kafka-1:9092', 'kafka-2:9093']],
      [' kafka-1:9092 , kafka-2:9093 ', ['kafka-1:9092', 'kafka-2:9093']],
      ['kafka-1:9092,,kafka-2:9093,', ['kafka-1:9092', 'kafka-2:9093']],
      ['10.0.0.5:29092', ['10.0.0.5:29092']],
    ])('%j is %j', (value, brokers) => {
      expect(loadSettings({ KAFKA_BROKERS: value }).kafkaBrokers).toEqual(brokers);
    });

    it('unset means no brokers (local file sink)', () => {
      expect(loadSettings({}).kafkaBrokers).toEqual([]);
    });

    it.each([['localhost'], ['kafka-1:9092,kafka-2'], ['kafka:port'], ['kafka-1 :9092x']])(
      '%j is a ConfigError naming KAFKA_BROKERS',
      (value) => {
        expect(settingsError({ KAFKA_BROKERS: value }).message).toMatch(/- KAFKA_BROKERS: must be host:port/);
      },
    );
  });

  describe('SENT_TIME_ZONE', () => {
    it.each([['UTC'], ['Asia/Kolkata'], ['America/New_York'], ['Etc/GMT-5']])('%j is accepted', (tz) => {
      expect(loadSettings({ SENT_TIME_ZONE: tz }).sentTimeZone).toBe(tz);
    });

    it.each([['Asia/Bangalore'], ['IST+5'], ['Mars/Olympus_Mons']])('%j is a ConfigError naming SENT_TIME_ZONE', (tz) => {
      expect(settingsError({ SENT_TIME_ZONE: tz }).message).toContain('- SENT_TIME_ZONE: is not a known IANA time zone');
    });
  });

  it.each([
    ['ADMIN_TOKEN', 'short', 'must be at least 16 characters'],
    ['RETENTION_HOURS', '0', ''],
    ['MAX_BODY_BYTES', '0', ''],
    ['DISPATCH_POLL_MS', '5', ''],
    ['KAFKA_REQUEST_TIMEOUT_MS', '99', ''],
    ['DEDUPE_WINDOW_MS', '-1', ''],
    ['ROUTER_MODE', 'swarm', ''],
    ['ROUTER_ROLE', 'edge', ''],
    ['CLUSTER_PREFIX', 'a b', 'must be letters'],
    ['CLUSTER_SESSION_TIMEOUT_MS', '1000', ''],
    ['KAFKA_SASL_MECHANISM', 'gssapi', 'must be plain, scram-sha-256 or scram-sha-512'],
    ['KAFKA_TLS', 'yes', 'must be true or false'],
    ['KAFKA_TLS_REJECT_UNAUTHORIZED', 'no', 'must be true or false'],
    ['KAFKA_COMPRESSION', 'snappy', 'must be none or gzip (snappy, lz4 and zstd need codecs the router does not ship)'],
    ['KAFKA_COMPRESSION', 'zstd', 'must be none or gzip'],
    ['SPOOL_COMPRESSION', 'gzip', 'must be deflate or none'],
    ['SPOOL_COMPRESSION_THREAD', 'maybe', 'must be true or false'],
    ['KAFKA_TLS_CA_FILE', '/nonexistent/ca.pem', 'cannot read /nonexistent/ca.pem (ENOENT)'],
  ])('%s=%j is a ConfigError naming the variable', (name, value, detail) => {
    expect(settingsError({ [name]: value }).message).toContain(`- ${name}: ${detail}`);
  });

  it('wants KAFKA_BROKERS for the cluster mode, and a role only in it', () => {
    expect(settingsError({ ROUTER_MODE: 'cluster' }).message).toContain('- ROUTER_MODE: cluster mode needs KAFKA_BROKERS');
    expect(settingsError({ ROUTER_ROLE: 'deliver' }).message).toContain('- ROUTER_ROLE: "deliver" needs ROUTER_MODE=cluster');
    expect(loadSettings({ ROUTER_MODE: 'cluster', KAFKA_BROKERS: 'k:9092' }).cluster).toMatchObject({ role: 'all', prefix: 'kcr', partitions: 12, replicationFactor: -1 });
  });

  it('takes --mode and --role from the command line over the environment', () => {
    const argv = argvSettings(['--config', 'r.ts', '--mode', 'cluster', '--role=deliver']);
    expect(argv).toEqual({ ROUTER_MODE: 'cluster', ROUTER_ROLE: 'deliver' });
    expect(loadSettings({ ROUTER_ROLE: 'ingest', KAFKA_BROKERS: 'k:9092', ...argv }).cluster?.role).toBe('deliver');
  });

  it('names every bad variable at once', () => {
    const message = settingsError({ PORT: 'abc', KAFKA_BROKERS: 'localhost', SENT_TIME_ZONE: 'Mars/X' }).message;
    for (const name of ['PORT', 'KAFKA_BROKERS', 'SENT_TIME_ZONE']) expect(message).toContain(`- ${name}:`);
  });
});
