/** Operational settings from the environment, checked at start-up with messages naming the variable. */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { assertTimeZone } from './enrich/time.js';

const int = (min: number) => z.coerce.number().int().min(min);

const EnvSchema = z.object({
  PORT: int(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
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
  SHUTDOWN_TIMEOUT_MS: int(0).default(10_000),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KAFKA_REQUEST_TIMEOUT_MS: int(100).default(15_000),
  DISPATCH_POLL_MS: int(10).default(1_000),
  // Set explicitly rather than left to Node's defaults (60 s for headers, 5 min per request): a
  // client that trickles its request must not hold a connection for minutes.
  HTTP_HEADERS_TIMEOUT_MS: int(100).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100).default(5_000),
});

export interface Settings {
  port: number;
  host: string;
  kafkaBrokers: string[];
  dataDir: string;
  spoolPath: string;
  sinkDir: string;
  maxBodyBytes: number;
  /** Zone of Kaleyra's zone-less sent_time, unless a profile sets its own; null: kept local. */
  sentTimeZone: string | null;
  dedupeWindowMs: number;
  retentionMs: number;
  shutdownTimeoutMs: number;
  adminToken: string | undefined;
  kafkaRequestTimeoutMs: number;
  dispatchPollMs: number;
  /** The HTTP server's limits: whole headers, whole request, idle keep-alive. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
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
  const dataDir = resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    kafkaBrokers: e.KAFKA_BROKERS,
    dataDir,
    spoolPath: resolve(dataDir, 'spool.db'),
    sinkDir: resolve(dataDir, 'sink'),
    maxBodyBytes: e.MAX_BODY_BYTES,
    sentTimeZone: e.SENT_TIME_ZONE ?? null,
    dedupeWindowMs: e.DEDUPE_WINDOW_MS,
    retentionMs: e.RETENTION_HOURS * 3_600_000,
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
  };
}
