/**
 * The start-up check of a managed Kafka: one connection with the configured SASL and TLS. A
 * refused password or an untrusted certificate stops the router with the variable to fix (a
 * ConfigError: exit code 2), instead of a retry loop that can never succeed; a broker that is
 * merely unreachable does not stop it (the embedded router spools, the cluster mode retries).
 */
import { Kafka } from 'kafkajs';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { describeKafkaClient, kafkaConfig, type KafkaClientSettings } from './client-config.js';

/** Node's codes for a broker certificate that the trusted CAs do not vouch for. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Connects once (no retries) when SASL or TLS is configured; throws a ConfigError on an
 * authentication or TLS failure, logs and returns on anything else.
 * @example await checkKafkaAccess(settings.kafkaBrokers, settings.kafka, logger)
 */
export async function checkKafkaAccess(brokers: string[], security: KafkaClientSettings, logger: Logger): Promise<void> {
  if (brokers.length === 0 || (!security.sasl && !security.tls)) return;
  const admin = new Kafka(kafkaConfig({ clientId: 'kcr-access-check', brokers, security, connectionTimeoutMs: 5_000, requestTimeoutMs: 10_000, retry: { retries: 0 } })).admin();
  try {
    await admin.connect();
    logger.info('kafka access checked', { kafka: describeKafkaClient(security) });
  } catch (err) {
    const fatal = accessFailure(err, security);
    if (fatal) throw fatal;
    logger.warn('kafka not reachable at start-up: access not checked yet, deliveries will retry', { kafka: describeKafkaClient(security), error: errorMessage(err) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The ConfigError an authentication or TLS failure means, naming the variable to fix; null for
 * a failure that time may cure (a broker down, a timeout).
 * @example accessFailure(saslError, settings.kafka)?.message // 'environment is invalid:\n  - KAFKA_SASL_PASSWORD: SASL SCRAM-SHA-512 authentication failed for user alice ...'
 */
export function accessFailure(err: unknown, security: KafkaClientSettings): ConfigError | null {
  const chain = causes(err);
  const said = chain.map((e) => e.message).find(Boolean) ?? errorMessage(err);
  const sasl = chain.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || /\bSASL\b.*\b(authentication failed|not supported|not enabled)/i.test(e.message));
  if (sasl && security.sasl) {
    const mechanism = security.sasl.mechanism.toUpperCase();
    if (/not supported|not enabled|unsupported/i.test(sasl.message)) return invalid('KAFKA_SASL_MECHANISM', `the broker does not accept SASL ${mechanism}: ${sasl.message}`);
    return invalid('KAFKA_SASL_PASSWORD', `SASL ${mechanism} authentication failed for user ${security.sasl.username} (check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD): ${sasl.message}`);
  }
  const code = chain.map((e) => (typeof e.code === 'string' ? e.code : '')).find((c) => c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || UNTRUSTED.has(c) || EXPIRED.has(c));
  if (!code || !security.tls) return null;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return invalid('KAFKA_TLS_SERVERNAME', `the broker's certificate does not name the host connected to${security.tls.servername ? ` (KAFKA_TLS_SERVERNAME=${security.tls.servername})` : ''}; set KAFKA_TLS_SERVERNAME to a name it holds: ${said}`);
  }
  if (UNTRUSTED.has(code)) return invalid('KAFKA_TLS_CA_FILE', `the broker's certificate is not signed by a trusted CA (${code}${security.tls.ca ? ', trusted: the CA file' : ', trusted: the system CAs'}): ${said}`);
  if (EXPIRED.has(code)) return invalid('KAFKA_TLS', `the broker's certificate is not valid now (${code}): ${said}`);
  if (/CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE/.test(code)) {
    return invalid('KAFKA_TLS_CERT_FILE', `the broker refused the TLS handshake (${code})${security.tls.cert ? '; is the client certificate signed by a CA it trusts?' : '; does it require a client certificate?'}: ${said}`);
  }
  return invalid('KAFKA_TLS', `TLS handshake failed (${code}); is the broker's listener TLS?: ${said}`);
}

function invalid(variable: string, message: string): ConfigError {
  return new ConfigError(`environment is invalid:\n  - ${variable}: ${message}`);
}

/** The error and what it wraps: kafkajs keeps the original in `cause` or `originalError`. */
function causes(err: unknown): { name: string; message: string; code?: unknown }[] {
  const out: { name: string; message: string; code?: unknown }[] = [];
  let e = err as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let i = 0; e && typeof e === 'object' && i < 6; i++) {
    out.push({ name: String(e.name ?? ''), message: String(e.message ?? ''), code: e.code });
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return out;
}
