/**
 * A private broker that looks like a managed Kafka, for test/kafka-sasl.test.ts: a SASL_SSL
 * listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) whose certificate names only `kafka.kcr.test`
 * and is signed by a CA made here, clients required to present a certificate from that CA, and
 * SCRAM users stored when the storage is formatted. Certificates are made with keytool (Java's,
 * which the broker needs anyway); openssl only turns the client's key into PEM for kafkajs.
 * Started with scripts/kafka.sh on ports of its own, so the suite's broker is not touched.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './router.js';

/** The name in the broker's certificate (and not 127.0.0.1, so KAFKA_TLS_SERVERNAME is needed). */
export const BROKER_NAME = 'kafka.kcr.test';

export const USERS = {
  scram512: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-Secret-512' },
  scram256: { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-Secret-256' },
  plain: { mechanism: 'plain', username: 'carol', password: 'carol-Secret-plain' },
} as const;

export interface SaslBroker {
  /** The SASL_SSL listener. */
  brokers: string;
  /** PEM files: the CA that signed the broker's and the client's certificates, one that did not, the client's certificate and key. */
  files: { ca: string; otherCa: string; cert: string; key: string };
  /** The record batches of a topic (every partition) as the broker stored them; transaction markers left out. */
  storedBatches(topic: string): { compression: number; records: number }[];
  stop(): void;
}

const STORE_PASSWORD = 'kcr-test-store';

/**
 * Makes the certificates and users and starts the broker (a minute or two on a cold JVM).
 * @example const broker = startSaslBroker({ plaintext: await freePort(), controller: await freePort(), saslSsl: await freePort() });
 */
export function startSaslBroker(ports: { plaintext: number; controller: number; saslSsl: number }): SaslBroker {
  const dir = tempDir('kcr-sasl-');
  let certs: ReturnType<typeof makeCertificates>;
  try {
    certs = makeCertificates(dir.path);
  } catch (err) {
    dir.remove();
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`the test certificates were not made (keytool from Java 17 and openssl are needed): ${e.message}\n${e.stderr?.toString() ?? ''}`);
  }
  const data = join(dir.path, 'kafka');
  const env = {
    ...process.env,
    KAFKA_PORT: String(ports.plaintext),
    KAFKA_CONTROLLER_PORT: String(ports.controller),
    KAFKA_SASL_SSL_PORT: String(ports.saslSsl),
    KAFKA_DATA: data,
    KAFKA_HEAP_OPTS: '-Xmx384m -Xms128m',
    KAFKA_SSL_KEYSTORE: certs.brokerStore,
    KAFKA_SSL_KEYSTORE_PASSWORD: STORE_PASSWORD,
    KAFKA_SSL_TRUSTSTORE: certs.trustStore,
    KAFKA_SSL_TRUSTSTORE_PASSWORD: STORE_PASSWORD,
    KAFKA_SCRAM_USERS: [USERS.scram512, USERS.scram256].map((u) => `${u.mechanism.toUpperCase()}=[name=${u.username},password=${u.password}]`).join(';'),
    KAFKA_PLAIN_USERS: `${USERS.plain.username}=${USERS.plain.password}`,
  };
  const script = join(ROOT, 'scripts', 'kafka.sh');
  const run = (cmd: string) => execFileSync('bash', [script, cmd], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  try {
    run('start');
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    run('clean');
    dir.remove();
    throw new Error(`the SASL_SSL broker did not start (Java 17 and the Kafka jars are needed: scripts/kafka.sh fetch): ${e.message}\n${e.stderr?.toString() ?? ''}`);
  }
  return {
    brokers: `127.0.0.1:${ports.saslSsl}`,
    files: certs.pem,
    storedBatches: (topic) => storedBatches(join(data, 'data'), topic),
    stop() {
      try {
        run('clean');
      } finally {
        dir.remove();
      }
    },
  };
}

function makeCertificates(dir: string) {
  const p = (name: string) => join(dir, name);
  const keytool = (...args: string[]) => execFileSync('keytool', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const store = (file: string) => ['-keystore', p(file), '-storetype', 'PKCS12', '-storepass', STORE_PASSWORD];
  const newKey = (file: string, alias: string, dname: string, ...ext: string[]) =>
    keytool('-genkeypair', '-alias', alias, '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', '-dname', dname, ...ext, ...store(file));
  // Two CAs: the one that signs, and one the broker has never heard of.
  for (const ca of ['ca', 'other-ca']) {
    newKey(`${ca}.p12`, ca, `CN=kcr test ${ca}`, '-ext', 'bc:c');
    keytool('-exportcert', '-rfc', '-alias', ca, '-file', p(`${ca}.pem`), ...store(`${ca}.p12`));
  }
  // sign <store> <alias> <extensions...>: a CA-signed certificate, with its chain, into the store.
  const sign = (file: string, alias: string, ...ext: string[]) => {
    keytool('-certreq', '-alias', alias, '-file', p(`${alias}.csr`), ...store(file));
    keytool('-gencert', '-rfc', '-alias', 'ca', '-validity', '2', '-infile', p(`${alias}.csr`), '-outfile', p(`${alias}.pem`), ...ext, ...store('ca.p12'));
    keytool('-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), ...store(file));
    keytool('-importcert', '-alias', alias, '-file', p(`${alias}.pem`), ...store(file));
  };
  newKey('broker.p12', 'broker', `CN=${BROKER_NAME}`);
  sign('broker.p12', 'broker', '-ext', `SAN=dns:${BROKER_NAME}`, '-ext', 'EKU=serverAuth');
  newKey('client.p12', 'client', 'CN=kcr-router');
  sign('client.p12', 'client', '-ext', 'EKU=clientAuth');
  keytool('-importcert', '-noprompt', '-alias', 'ca', '-file', p('ca.pem'), ...store('trust.p12'));
  const key = execFileSync('openssl', ['pkcs12', '-in', p('client.p12'), '-passin', `pass:${STORE_PASSWORD}`, '-nocerts', '-nodes'], { timeout: 30_000 }).toString();
  writeFileSync(p('client.key'), key.slice(key.indexOf('-----BEGIN')));
  return {
    brokerStore: p('broker.p12'),
    trustStore: p('trust.p12'),
    pem: { ca: p('ca.pem'), otherCa: p('other-ca.pem'), cert: p('client.pem'), key: p('client.key') },
  };
}

/**
 * Record batch v2 headers of every segment of `topic`: baseOffset (8 bytes), batchLength (4),
 * partitionLeaderEpoch (4), magic (1), crc (4), attributes (2, codec in the low 3 bits), ...,
 * record count at byte 57. The broker keeps a producer's batch as it came (compression.type=producer).
 * Control batches (attribute bit 5: a transaction's commit marker) are left out.
 */
function storedBatches(logDirs: string, topic: string): { compression: number; records: number }[] {
  const out: { compression: number; records: number }[] = [];
  for (const part of readdirSync(logDirs).filter((d) => d.startsWith(`${topic}-`) && /^\d+$/.test(d.slice(topic.length + 1)))) {
    for (const seg of readdirSync(join(logDirs, part)).filter((f) => f.endsWith('.log'))) {
      const buf = readFileSync(join(logDirs, part, seg));
      for (let at = 0; at + 61 <= buf.length; at += 12 + buf.readInt32BE(at + 8)) {
        const attributes = buf.readInt16BE(at + 21);
        if ((attributes & 0x20) === 0) out.push({ compression: attributes & 0x07, records: buf.readInt32BE(at + 57) });
      }
    }
  }
  return out;
}
