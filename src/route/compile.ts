/**
 * Start-up check of routes.config.ts. The compiler already checks TypeScript users; this
 * catches JavaScript users and bad values, with a message naming the rule and the field.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { resolvePolicy, type RetryPolicyOptions } from '../dispatch/retry.js';
import { assertTimeZone } from '../enrich/time.js';
import { createTokenAuth, tokenAuthConfigSchema, type TokenAuth } from '../http/token-auth.js';
import { createDecryptor, encryptionConfigSchema, type DecryptResult } from '../ingest/decrypt.js';
import { fieldMapSchema, type FieldMap } from '../ingest/field-map.js';
import { CALLBACK_METHODS, type CallbackMethod, type ProfileConfig, type RoutesConfig, type TopicConfig, type WebhookConfig } from './define-routes.js';
import { compilePatterns, foldExact, foldStatus, foldUpper, type CompiledRule, type RouteTable } from './match.js';

// Patterns are matched against capped fields; a longer pattern can never match one.
const pattern = z.string().min(1).max(1_024);
const patterns = z.union([pattern, z.array(pattern).min(1)]);
const headerMap = z.record(z.string().min(1), z.string());
const credential = z.string().min(1, 'is empty (an unset environment variable?)');

const DURATION_UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = 'is not a duration: milliseconds, or "90s", "30m", "72h", "3d"';
const duration = z.union(
  [
    z.number().int().positive(),
    z
      .string()
      .regex(/^\d+(\.\d+)?[smhd]$/)
      .transform((v) => Math.round(Number(v.slice(0, -1)) * DURATION_UNITS[v.at(-1) as keyof typeof DURATION_UNITS])),
  ],
  { error: DURATION },
);
const timeZone = z.string().refine(
  (tz) => {
    try {
      assertTimeZone(tz);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a known IANA time zone' },
);

const retry = z
  .object({
    initialDelayMs: z.number().int().nonnegative(),
    maxDelayMs: z.number().int().nonnegative(),
    multiplier: z.number().min(1),
    maxAttempts: z.number().int().min(1),
    maxAgeMs: z.number().int().positive(),
    retryStatuses: z.array(z.union([z.number().int().min(100).max(599), z.literal('5xx')])),
  })
  .partial()
  .strict();

const ConfigSchema = z
  .object({
    profiles: z.record(
      z.string(),
      z
        .object({
          methods: z.array(z.enum(CALLBACK_METHODS)).min(1).optional(),
          headers: z.record(z.string().min(1), credential).optional(),
          basicAuth: z.object({ username: credential, password: credential }).strict().optional(),
          bearerToken: credential.optional(),
          tokenAuth: tokenAuthConfigSchema.optional(),
          encryption: encryptionConfigSchema.optional(),
          fieldMap: fieldMapSchema.optional(),
          sentTimeZone: timeZone.optional(),
          finalAfter: duration.optional(),
        })
        .strict(),
    ),
    kafka: z
      .object({
        topics: z.record(
          z.string().min(1),
          z.union([
            z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'is not a valid Kafka topic name'),
            z
              .object({
                name: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'is not a valid Kafka topic name'),
                partitions: z.number().int().positive().optional(),
                retry: retry.optional(),
              })
              .strict(),
          ]),
        ),
        clientId: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    webhooks: z
      .record(
        z.string().min(1),
        z
          .object({
            url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
            secret: z.string().min(1).optional(),
            headers: headerMap.optional(),
            timeoutMs: z.number().int().positive().optional(),
            concurrency: z.number().int().positive().optional(),
            retry: retry.optional(),
            enabled: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    rules: z.array(
      z
        .object({
          name: z.string().min(1),
          match: z
            .object({
              status: patterns.optional(),
              iso_code: patterns.optional(),
              profile: patterns.optional(),
              route_type: patterns.optional(),
              status_trace: patterns.optional(),
              final: z.boolean().optional(),
              stale: z.boolean().optional(),
            })
            .strict()
            .optional(),
          to: z.array(z.string()),
          stop: z.boolean().optional(),
        })
        .strict(),
    ),
    fallback: z.array(z.string()).optional(),
    retry: retry.optional(),
  })
  .strict();

/** A profile ready for the request path: its checks built once at start-up. */
export interface CompiledProfile {
  name: string;
  config: ProfileConfig;
  methods: ReadonlySet<CallbackMethod>;
  tokenAuth: TokenAuth | null;
  decrypt: ((fields: Record<string, unknown>) => DecryptResult) | null;
  fieldMap: FieldMap | null;
  finalAfterMs: number | null;
}

export interface CompiledConfig {
  profiles: ReadonlyMap<string, CompiledProfile>;
  table: RouteTable;
  /** Destination ref (`kafka:alias`) to its Kafka topic. */
  topics: ReadonlyMap<string, TopicConfig>;
  /** Destination ref (`webhook:name`) to its webhook. */
  webhooks: ReadonlyMap<string, WebhookConfig>;
  retry: RetryPolicyOptions;
  kafkaClientId: string;
}

/** Names the rule a zod issue path points into, for humans. */
function describePath(path: readonly PropertyKey[], input: Record<string, unknown>): string {
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const rule = (input.rules as { name?: unknown }[] | undefined)?.[path[1]];
    const name = typeof rule?.name === 'string' ? `"${rule.name}"` : '(unnamed)';
    const field = path.slice(2).join('.');
    return `rule ${name} (rules[${path[1]}])${field ? `, field "${field}"` : ''}`;
  }
  if (path[0] === 'profiles' && path.length > 1) {
    const field = path.slice(2).map(String).join('.');
    return `profile "${String(path[1])}"${field ? `, field "${field}"` : ''}`;
  }
  return `field "${path.map(String).join('.')}"`;
}

/**
 * Validates and compiles the config; throws a ConfigError listing every problem.
 * @example compileRoutes(config, 'routes.config.ts').table.rules.length
 */
export function compileRoutes(input: RoutesConfig, source = 'routes.config.ts'): CompiledConfig {
  const parsed = ConfigSchema.safeParse(input);
  const unset = unsetCredentials(input);
  if (!parsed.success || unset.length > 0) {
    const lines = [
      ...unset,
      ...(parsed.success ? [] : parsed.error.issues)
        // The unset credentials are already said, more plainly.
        .filter((i) => !unset.some((u) => u.startsWith(`  - ${describePath(i.path, input as never)}:`)))
        .map((i) => `  - ${describePath(i.path, input as never)}: ${i.message}`),
    ];
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  const topics = new Map<string, TopicConfig>();
  for (const [alias, t] of Object.entries(cfg.kafka?.topics ?? {})) {
    topics.set(`kafka:${alias}`, typeof t === 'string' ? { name: t } : t);
  }
  const webhooks = new Map<string, WebhookConfig>();
  for (const [name, w] of Object.entries(cfg.webhooks ?? {})) webhooks.set(`webhook:${name}`, w);

  const problems: string[] = [];
  const checkRefs = (refs: string[], where: (j: number) => string): void => {
    refs.forEach((ref, j) => {
      if (topics.has(ref) || webhooks.has(ref)) return;
      const [kind, name] = ref.split(':', 2) as [string, string | undefined];
      const declared =
        kind === 'kafka'
          ? [...topics.keys()]
          : kind === 'webhook'
            ? [...webhooks.keys()]
            : [...topics.keys(), ...webhooks.keys()];
      const what =
        kind === 'kafka' ? `unknown Kafka topic "${name}"` : kind === 'webhook' ? `unknown webhook "${name}"` : `"${ref}" is not "kafka:<topic>" or "webhook:<name>"`;
      problems.push(`  - ${where(j)}: ${what} (declared: ${declared.join(', ') || 'none'})`);
    });
  };
  for (const name of Object.keys(cfg.profiles)) {
    if (!/^[A-Za-z0-9._~-]+$/.test(name)) {
      problems.push(`  - field "profiles.${name}": profile names must be URL-safe (letters, digits, . _ ~ -): they are the last part of the callback URL`);
    }
  }
  for (const [name, p] of Object.entries(cfg.profiles)) {
    if (p.tokenAuth && (p.bearerToken || p.basicAuth)) {
      problems.push(`  - profile "${name}", field "tokenAuth": both it and ${p.bearerToken ? 'bearerToken' : 'basicAuth'} read the Authorization header; choose one`);
    }
  }
  const seen = new Set<string>();
  cfg.rules.forEach((r, i) => {
    if (seen.has(r.name)) problems.push(`  - rule "${r.name}" (rules[${i}]), field "name": the name is used twice`);
    seen.add(r.name);
    checkRefs(r.to, (j) => `rule "${r.name}" (rules[${i}]), field "to[${j}]"`);
    if (r.to.length === 0 && !r.stop) {
      problems.push(`  - rule "${r.name}" (rules[${i}]), field "to": empty without "stop: true" does nothing`);
    }
  });
  if (cfg.fallback) checkRefs(cfg.fallback, (j) => `field "fallback[${j}]"`);
  if (problems.length > 0) throw new ConfigError(`${source} is invalid:\n${problems.join('\n')}`);

  const off = new Set([...webhooks].filter(([, w]) => w.enabled === false).map(([ref]) => ref));
  for (const ref of off) webhooks.delete(ref);
  const live = (refs: string[]): string[] => refs.filter((ref) => !off.has(ref));

  // A rule whose every destination is a disabled webhook is as if it were not there: it must
  // neither swallow events (keeping them from the fallback) nor stop later rules.
  const active = cfg.rules.map((r, index) => ({ r, index })).filter(({ r }) => r.to.length === 0 || live(r.to).length > 0);
  const rules: CompiledRule[] = active.map(({ r, index }) => ({
    name: r.name,
    index,
    status: r.match?.status ? compilePatterns(r.match.status, foldStatus) : null,
    iso_code: r.match?.iso_code ? compilePatterns(r.match.iso_code, foldUpper) : null,
    profile: r.match?.profile ? compilePatterns(r.match.profile, foldExact) : null,
    route_type: r.match?.route_type ? compilePatterns(r.match.route_type, foldUpper) : null,
    status_trace: r.match?.status_trace ? compilePatterns(r.match.status_trace, foldStatus) : null,
    final: r.match?.final ?? null,
    stale: r.match?.stale ?? null,
    to: live(r.to),
    stop: r.stop ?? false,
  }));

  const profiles = new Map<string, CompiledProfile>();
  for (const [name, p] of Object.entries(cfg.profiles)) {
    const config = (input.profiles as Record<string, ProfileConfig>)[name]!;
    profiles.set(name, {
      name,
      config,
      methods: new Set(p.methods ?? CALLBACK_METHODS),
      tokenAuth: p.tokenAuth ? createTokenAuth(name, p.tokenAuth) : null,
      decrypt: p.encryption ? createDecryptor(p.encryption) : null,
      fieldMap: p.fieldMap ?? null,
      finalAfterMs: p.finalAfter ?? null,
    });
  }

  return {
    profiles,
    table: { rules, fallback: cfg.fallback ? live(cfg.fallback) : null },
    topics,
    webhooks,
    retry: resolvePolicy(cfg.retry),
    kafkaClientId: cfg.kafka?.clientId ?? 'kaleyra-callback-router',
  };
}

/** Credential fields of a profile, as paths from the profile object. */
const CREDENTIAL_PATHS = [
  ['bearerToken'],
  ['basicAuth', 'username'],
  ['basicAuth', 'password'],
  ['tokenAuth', 'issue', 'clientId'],
  ['tokenAuth', 'issue', 'clientSecret'],
  ['tokenAuth', 'issue', 'signingKey'],
  ['tokenAuth', 'external', 'sharedKey'],
  ['tokenAuth', 'external', 'jwksUrl'],
  ['encryption', 'key'],
] as const;

/**
 * Credentials that are written in the config but have no value: `bearerToken:
 * process.env.KEY` with KEY unset. Left alone, such a profile would start with no auth at all,
 * so each one stops start-up, naming the profile and the field.
 */
function unsetCredentials(input: RoutesConfig): string[] {
  const problems: string[] = [];
  const profiles = (input as { profiles?: unknown }).profiles;
  if (!profiles || typeof profiles !== 'object') return problems;
  const blank = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
  const say = (path: readonly string[]): void => {
    problems.push(`  - ${describePath(['profiles', ...path], input as never)}: is configured but empty (an unset environment variable?); the profile would accept callbacks without it`);
  };
  for (const [name, profile] of Object.entries(profiles as Record<string, unknown>)) {
    if (!profile || typeof profile !== 'object') continue;
    for (const path of CREDENTIAL_PATHS) {
      let parent: unknown = profile;
      for (const key of path.slice(0, -1)) parent = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[key] : undefined;
      const last = path.at(-1)!;
      if (parent && typeof parent === 'object' && Object.hasOwn(parent, last) && blank((parent as Record<string, unknown>)[last])) {
        say([name, ...path]);
      }
    }
    const headers = (profile as { headers?: unknown }).headers;
    if (headers && typeof headers === 'object') {
      for (const [h, v] of Object.entries(headers)) if (blank(v)) say([name, 'headers', h]);
    }
  }
  return problems;
}

/** Every destination ref the config declares. */
export function destinationRefs(cfg: CompiledConfig): string[] {
  return [...cfg.topics.keys(), ...cfg.webhooks.keys()];
}
