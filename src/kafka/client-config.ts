/**
 * How every Kafka client of the router is made: the managed-Kafka settings (SASL, TLS,
 * compression; KAFKA_SASL_*, KAFKA_TLS*, KAFKA_COMPRESSION) read once at start-up, and the one
 * kafkajs config and producer wrapper built from them, so no client can miss the credentials
 * and no produce can miss the compression.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompressionTypes, logLevel, type KafkaConfig, type logCreator, type Producer, type RetryOptions, type SASLOptions } from 'kafkajs';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { refusedUnwritten } from './transactions.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
/** Only what kafkajs compresses by itself: snappy, lz4 and zstd need codec packages the router does not ship. */
export type KafkaCompression = 'none' | 'gzip';

/** The managed-Kafka settings, files already read. Secrets live here only: never log this object. */
export interface KafkaClientSettings {
  sasl: { mechanism: SaslMechanism; username: string; password: string } | null;
  /** null: plaintext. Without `ca` the system's CAs are trusted. */
  tls: { ca?: string; cert?: string; key?: string; servername?: string; rejectUnauthorized: boolean } | null;
  compression: KafkaCompression;
}

/** Plaintext, no SASL, no compression: what the router did before these settings existed. */
export const PLAINTEXT_KAFKA: KafkaClientSettings = { sasl: null, tls: null, compression: 'none' };

/** The variables as the settings schema checked them (strings trimmed, booleans parsed). */
export interface KafkaClientEnv {
  KAFKA_SASL_MECHANISM?: SaslMechanism;
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
  KAFKA_TLS?: boolean;
  KAFKA_TLS_CA_FILE?: string;
  KAFKA_TLS_CERT_FILE?: string;
  KAFKA_TLS_KEY_FILE?: string;
  KAFKA_TLS_SERVERNAME?: string;
  KAFKA_TLS_REJECT_UNAUTHORIZED?: boolean;
  KAFKA_COMPRESSION: KafkaCompression;
}

/**
 * The managed-Kafka settings from checked variables, reading the PEM files now: a missing or
 * unreadable file is a start-up error naming its variable, not a TLS failure minutes later.
 * @example kafkaClientSettings({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 's3cret', KAFKA_COMPRESSION: 'gzip' })
 */
export function kafkaClientSettings(e: KafkaClientEnv, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): KafkaClientSettings {
  const issues: string[] = [];
  const sasl = saslOf(e, issues);
  const files = { ca: e.KAFKA_TLS_CA_FILE, cert: e.KAFKA_TLS_CERT_FILE, key: e.KAFKA_TLS_KEY_FILE };
  const implied = Object.values(files).some(Boolean) || e.KAFKA_TLS_SERVERNAME !== undefined || e.KAFKA_TLS_REJECT_UNAUTHORIZED !== undefined;
  if (e.KAFKA_TLS === false && implied) issues.push('KAFKA_TLS: is false, but KAFKA_TLS_* settings are given (unset them, or unset KAFKA_TLS)');
  if (Boolean(files.cert) !== Boolean(files.key)) issues.push(`${files.cert ? 'KAFKA_TLS_KEY_FILE' : 'KAFKA_TLS_CERT_FILE'}: a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE`);
  const pem = (name: string, path: string | undefined, what: string, check: (text: string) => unknown): string | undefined => {
    if (!path) return undefined;
    let text: string;
    try {
      text = read(path);
    } catch (err) {
      issues.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
      return undefined;
    }
    try {
      check(text);
      return text;
    } catch {
      issues.push(`${name}: ${path} is not ${what}`);
      return undefined;
    }
  };
  const ca = pem('KAFKA_TLS_CA_FILE', files.ca, 'a PEM certificate', (t) => new X509Certificate(t));
  const cert = pem('KAFKA_TLS_CERT_FILE', files.cert, 'a PEM certificate', (t) => new X509Certificate(t));
  const key = pem('KAFKA_TLS_KEY_FILE', files.key, 'an unencrypted PEM private key', (t) => createPrivateKey(t));
  if (issues.length > 0) throw new ConfigError(`environment is invalid:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  const tls =
    e.KAFKA_TLS === true || implied
      ? { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(e.KAFKA_TLS_SERVERNAME && { servername: e.KAFKA_TLS_SERVERNAME }), rejectUnauthorized: e.KAFKA_TLS_REJECT_UNAUTHORIZED ?? true }
      : null;
  return { sasl, tls, compression: e.KAFKA_COMPRESSION };
}

function saslOf(e: KafkaClientEnv, issues: string[]): KafkaClientSettings['sasl'] {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = e;
  if (!mechanism) {
    if (username !== undefined || password !== undefined) issues.push('KAFKA_SASL_MECHANISM: must be set (plain, scram-sha-256 or scram-sha-512) when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is');
    return null;
  }
  if (username === undefined) issues.push(`KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  if (password === undefined) issues.push(`KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  return username !== undefined && password !== undefined ? { mechanism, username, password } : null;
}

/**
 * kafkajs' own log lines into ours: its errors as warnings (it retries most of them itself),
 * the rest as debug.
 * @example new Kafka({ clientId, brokers, logLevel: logLevel.WARN, logCreator: kafkajsLogs(logger) })
 */
export function kafkajsLogs(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, ...rest } = entry;
      // Refusals it retries as a matter of course (CONCURRENT_TRANSACTIONS after every commit, a
      // leader moving) are not worth a warning each.
      const routine = refusedUnwritten(`${String(message)} ${String(rest.error ?? '')}`);
      (level <= logLevel.ERROR && !routine ? log.warn : log.debug)(`kafkajs: ${message}`, { kafka: { namespace, ...rest } });
    };
}

export interface ClientOptions {
  clientId: string;
  brokers: string[];
  /** SASL and TLS (settings.kafka). */
  security: KafkaClientSettings;
  /** Where kafkajs logs (warnings and up); none: it logs nothing (the CLI, one-off clients). */
  logger?: Logger;
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  retry?: RetryOptions;
}

/**
 * The kafkajs config of one client: brokers, SASL and TLS, timeouts, logging.
 * @example new Kafka(kafkaConfig({ clientId: 'kcr', brokers: settings.kafkaBrokers, security: settings.kafka, logger }))
 */
export function kafkaConfig(o: ClientOptions): KafkaConfig {
  return {
    clientId: o.clientId,
    brokers: o.brokers,
    ...securityOptions(o.security),
    connectionTimeout: o.connectionTimeoutMs ?? 3_000,
    ...(o.requestTimeoutMs !== undefined && { requestTimeout: o.requestTimeoutMs }),
    ...(o.retry && { retry: o.retry }),
    logLevel: o.logger ? logLevel.WARN : logLevel.NOTHING,
    ...(o.logger && { logCreator: kafkajsLogs(o.logger) }),
  };
}

/**
 * Only the `ssl` and `sasl` options, for clients made elsewhere (the consumer helper's `kafka`).
 * @example consumeDeliveryEvents({ brokers, groupId, topics, onEvent, kafka: securityOptions(settings.kafka) })
 */
export function securityOptions(s: KafkaClientSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  return {
    ...(s.tls && { ssl: { ...s.tls } }),
    ...(s.sasl && { sasl: { mechanism: s.sasl.mechanism, username: s.sasl.username, password: s.sasl.password } as SASLOptions }),
  };
}

const CODEC = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

/**
 * The producer with `compression` on every send, sendBatch and transactional send that does not
 * choose its own: the one place produce requests get their codec.
 * @example const producer = withCompression(kafka.producer(), settings.kafka.compression)
 */
export function withCompression(producer: Producer, compression: KafkaCompression): Producer {
  if (compression === 'none') return producer;
  const codec = CODEC[compression];
  // kafkajs' producer and transaction are plain objects of closures, so copying them keeps them whole.
  return {
    ...producer,
    send: (record) => producer.send({ compression: codec, ...record }),
    sendBatch: (batch) => producer.sendBatch({ compression: codec, ...batch }),
    transaction: async () => {
      const txn = await producer.transaction();
      return { ...txn, send: (record) => txn.send({ compression: codec, ...record }), sendBatch: (batch) => txn.sendBatch({ compression: codec, ...batch }) };
    },
  };
}

/**
 * What the settings say about the connection, with no secret in it, for the start-up log line.
 * @example describeKafkaClient(settings.kafka) // 'SASL_SSL (SCRAM-SHA-512 as alice), gzip'
 */
export function describeKafkaClient(s: KafkaClientSettings): string {
  const protocol = `${s.sasl ? 'SASL_' : ''}${s.tls ? 'SSL' : 'PLAINTEXT'}`;
  return `${protocol}${s.sasl ? ` (${s.sasl.mechanism.toUpperCase()} as ${s.sasl.username})` : ''}, ${s.compression === 'none' ? 'uncompressed' : s.compression}`;
}
