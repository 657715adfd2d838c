/** Operational settings from the environment, checked at start-up with messages naming the variable. */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { assertTimeZone } from './enrich/time.js';
import { kafkaClientSettings, type KafkaClientSettings } from './kafka/client-config.js';

const int = (min: number) => z.coerce.number().int().min(min);
const bool = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  PORT: int(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  // Where Kaleyra reaches this router (https://sms-callbacks.example.com): only for the start-up
  // lines that say which URL to give each callback profile.
  PUBLIC_URL: z.string().url('must be an absolute URL, e.g. https://callbacks.example.com').optional(),
  KAFKA_BROKERS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .refine((bs) => bs.every((b) => /^[^\s:]+:\d+$/.test(b)), 'must be host:port[,host:port...]'),
  DATA_DIR: z.string().default('data'),
  MAX_BODY_BYTES: int(1).default(256 * 1024),
  SENT_TIME_ZONE: z
    .string()
    .optional()
    .refine((tz) => {
      if (tz === undefined) return true;
      try {
        assertTimeZone(tz);
        return true;
      } catch {
        return false;
      }
    }, 'is not a known IANA time zone'),
  DEDUPE_WINDOW_MS: int(0).default(10 * 60_000),
  RETENTION_HOURS: z.coerce.number().positive().default(168),
  // How the spool keeps each event's JSON (src/spool/body-codec.ts): deflate is about 225 bytes an
  // event instead of about 1,450, for about 20 µs of CPU each (issue 11's measurements).
  SPOOL_COMPRESSION: z.string().toLowerCase().pipe(z.enum(['deflate', 'none'], { error: 'must be deflate or none' })).default('deflate'),
  // Whether deflate runs on a thread of its own (src/spool/body-compressor.ts) rather than on the
  // event loop: more callbacks a second with a core to spare, about 20 MB more memory. Default:
  // on when the machine has more than one CPU.
  SPOOL_COMPRESSION_THREAD: bool.optional(),
  SHUTDOWN_TIMEOUT_MS: int(0).default(10_000),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KAFKA_REQUEST_TIMEOUT_MS: int(100).default(15_000),
  DISPATCH_POLL_MS: int(10).default(1_000),
  // Set explicitly rather than left to Node's defaults (60 s for headers, 5 min per request): a
  // client that trickles its request must not hold a connection for minutes.
  HTTP_HEADERS_TIMEOUT_MS: int(100).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100).default(5_000),
  // Cluster mode (docs/cluster-mode.md): off unless asked for, and then only with KAFKA_BROKERS.
  ROUTER_MODE: z.enum(['embedded', 'cluster']).default('embedded'),
  ROUTER_ROLE: z.enum(['all', 'ingest', 'deliver']).default('all'),
  CLUSTER_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be letters, digits, ".", "_" or "-"').default('kcr'),
  CLUSTER_PARTITIONS: int(1).max(1000).default(12),
  CLUSTER_REPLICATION_FACTOR: int(-1).max(10).default(-1),
  // Longer than a broker failover (KRaft fences a dead broker after 9 s), so one is waited out.
  INTAKE_ACK_TIMEOUT_MS: int(100).default(15_000),
  CLUSTER_SESSION_TIMEOUT_MS: int(6_000).default(10_000),
  // Managed Kafka (src/kafka/client-config.ts): SASL, TLS and compression for every Kafka client
  // of the router; the files are read at start-up. Any KAFKA_TLS_* setting turns TLS on.
  KAFKA_SASL_MECHANISM: z.string().toLowerCase().pipe(z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], { error: 'must be plain, scram-sha-256 or scram-sha-512' })).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  KAFKA_TLS: bool.optional(),
  KAFKA_TLS_CA_FILE: z.string().optional(),
  KAFKA_TLS_CERT_FILE: z.string().optional(),
  KAFKA_TLS_KEY_FILE: z.string().optional(),
  KAFKA_TLS_SERVERNAME: z.string().optional(),
  KAFKA_TLS_REJECT_UNAUTHORIZED: bool.optional(),
  // Config reload (src/route/reload.ts): SIGHUP always reloads; with CONFIG_WATCH a change to the
  // routes file does too, once it has been quiet for the debounce (an editor saves in steps).
  CONFIG_WATCH: bool.default(false),
  CONFIG_WATCH_DEBOUNCE_MS: int(10).default(500),
  KAFKA_COMPRESSION: z.string().toLowerCase().pipe(z.enum(['none', 'gzip'], { error: 'must be none or gzip (snappy, lz4 and zstd need codecs the router does not ship)' })).default('none'),
});

export type RouterRole = 'all' | 'ingest' | 'deliver';

/** The cluster mode's settings; null: the embedded default. */
export interface ClusterSettings {
  role: RouterRole;
  /** Topic and group prefix: <prefix>.intake, <prefix>.state, <prefix>.webhooks, <prefix>.dead. */
  prefix: string;
  /** Partitions of the intake topic (and of the state and outbox topics) when created. */
  partitions: number;
  /** Replication factor of the cluster topics when created; -1: the broker's default. */
  replicationFactor: number;
  /** How long a callback waits for the intake topic's ack before it goes to the local spool. */
  intakeAckTimeoutMs: number;
  /** Consumer-group session timeout: how soon a dead replica's partitions move. */
  sessionTimeoutMs: number;
}

export interface Settings {
  port: number;
  host: string;
  /** The router's public base URL, if known (start-up hints only). */
  publicUrl: string | null;
  kafkaBrokers: string[];
  dataDir: string;
  spoolPath: string;
  sinkDir: string;
  maxBodyBytes: number;
  /** Zone of Kaleyra's zone-less sent_time, unless a profile sets its own; null: kept local. */
  sentTimeZone: string | null;
  dedupeWindowMs: number;
  retentionMs: number;
  /** How the spool keeps each event's JSON: compressed (deflate, the default) or as it is. */
  spoolCompression: 'deflate' | 'none';
  /** Deflate on a thread of its own, off the event loop. */
  spoolCompressionThread: boolean;
  shutdownTimeoutMs: number;
  adminToken: string | undefined;
  kafkaRequestTimeoutMs: number;
  dispatchPollMs: number;
  /** The HTTP server's limits: whole headers, whole request, idle keep-alive. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  cluster: ClusterSettings | null;
  /** SASL, TLS (files read) and compression of every Kafka client; holds secrets, never log it. */
  kafka: KafkaClientSettings;
  /** Reload the routes file when it changes (SIGHUP reloads it in any case). */
  configWatch: { enabled: boolean; debounceMs: number };
}

/**
 * `--mode <m>` and `--role <r>` on the command line win over ROUTER_MODE and ROUTER_ROLE.
 * @example argvSettings(['--mode', 'cluster', '--role=ingest']) // { ROUTER_MODE: 'cluster', ROUTER_ROLE: 'ingest' }
 */
export function argvSettings(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const flags = { '--mode': 'ROUTER_MODE', '--role': 'ROUTER_ROLE' } as const;
  argv.forEach((a, i) => {
    for (const [flag, name] of Object.entries(flags)) {
      if (a === flag && argv[i + 1] !== undefined) out[name] = argv[i + 1]!;
      else if (a.startsWith(`${flag}=`)) out[name] = a.slice(flag.length + 1);
    }
  });
  return out;
}

/** @example loadSettings({ PORT: '9000' }).port === 9000 */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const blankless = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = EnvSchema.safeParse(blankless);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`environment is invalid:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.ROUTER_MODE === 'cluster' && e.KAFKA_BROKERS.length === 0) {
    throw new ConfigError('environment is invalid:\n  - ROUTER_MODE: cluster mode needs KAFKA_BROKERS');
  }
  if (e.ROUTER_MODE === 'embedded' && e.ROUTER_ROLE !== 'all') {
    throw new ConfigError(`environment is invalid:\n  - ROUTER_ROLE: "${e.ROUTER_ROLE}" needs ROUTER_MODE=cluster (the embedded router does everything)`);
  }
  const dataDir = resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ?? null,
    kafkaBrokers: e.KAFKA_BROKERS,
    dataDir,
    spoolPath: resolve(dataDir, 'spool.db'),
    sinkDir: resolve(dataDir, 'sink'),
    maxBodyBytes: e.MAX_BODY_BYTES,
    sentTimeZone: e.SENT_TIME_ZONE ?? null,
    dedupeWindowMs: e.DEDUPE_WINDOW_MS,
    retentionMs: e.RETENTION_HOURS * 3_600_000,
    spoolCompression: e.SPOOL_COMPRESSION,
    spoolCompressionThread: e.SPOOL_COMPRESSION_THREAD ?? availableParallelism() > 1,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    adminToken: e.ADMIN_TOKEN,
    kafkaRequestTimeoutMs: e.KAFKA_REQUEST_TIMEOUT_MS,
    dispatchPollMs: e.DISPATCH_POLL_MS,
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      // Node requires the request timeout to be no shorter than the headers timeout.
      requestTimeoutMs: Math.max(e.HTTP_REQUEST_TIMEOUT_MS, e.HTTP_HEADERS_TIMEOUT_MS),
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    cluster:
      e.ROUTER_MODE === 'cluster'
        ? {
            role: e.ROUTER_ROLE,
            prefix: e.CLUSTER_PREFIX,
            partitions: e.CLUSTER_PARTITIONS,
            replicationFactor: e.CLUSTER_REPLICATION_FACTOR === 0 ? -1 : e.CLUSTER_REPLICATION_FACTOR,
            intakeAckTimeoutMs: e.INTAKE_ACK_TIMEOUT_MS,
            sessionTimeoutMs: e.CLUSTER_SESSION_TIMEOUT_MS,
          }
        : null,
    kafka: kafkaClientSettings(e),
    configWatch: { enabled: e.CONFIG_WATCH, debounceMs: e.CONFIG_WATCH_DEBOUNCE_MS },
  };
}
