/**
 * Start-up check of routes.config.ts. The compiler already checks TypeScript users; this
 * catches JavaScript users and bad values, with a message naming the rule and the field.
 */
import { z } from 'zod';
import { DESTINATION_KINDS, destinationKind } from '../destinations/registry.js';
import type { DestinationConfigBase } from '../destinations/types.js';
import { ConfigError } from '../errors.js';
import { resolvePolicy, retryOverridesSchema, type RetryPolicyOptions } from '../retry/policy.js';
import { resolveRateLimit, type RateLimit } from '../dispatch/rate-limit.js';
import { assertTimeZone } from '../enrich/time.js';
import { createTokenAuth, tokenAuthConfigSchema, type TokenAuth } from '../http/token-auth.js';
import { createDecryptor, encryptionConfigSchema, type DecryptResult } from '../ingest/decrypt.js';
import { fieldMapSchema, type FieldMap } from '../ingest/field-map.js';
import { CALLBACK_METHODS, type CallbackMethod, type ProfileConfig, type RoutesConfig } from './define-routes.js';
import { compilePatterns, foldExact, foldStatus, foldUpper, type CompiledRule, type RouteTable } from './match.js';

// Patterns are matched against capped fields; a longer pattern can never match one.
const pattern = z.string().min(1).max(1_024);
const patterns = z.union([pattern, z.array(pattern).min(1)]);
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

const alertsSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    secret: z.string().min(1, 'is empty (an unset environment variable?)').optional(),
    headers: z.record(z.string().min(1), z.string()).optional(),
    timeoutMs: z.number().int().positive().optional(),
    oldestPending: duration.optional(),
    checkEvery: duration.optional(),
    repeatAfter: duration.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

// Each destination kind checks its own section (`kafka`, `webhooks`) with its own schema.
const destinationSections = Object.fromEntries(DESTINATION_KINDS.map((k) => [k.section, k.sectionSchema.optional()]));

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
    ...destinationSections,
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
    retry: retryOverridesSchema.optional(),
    alerts: alertsSchema.optional(),
  })
  .strict();
type ParsedConfig = z.infer<typeof ConfigSchema>;

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

/** One destination, ready to open: its kind, its config, its retry policy resolved once, here. */
export interface CompiledDestination {
  /** The kind's ref prefix: 'kafka', 'webhook' (see destinations/registry.ts). */
  kind: string;
  /** As the kind's `declared` read it out of routes.config.ts. */
  config: DestinationConfigBase;
  /** The shared policy with this destination's overrides layered on top. */
  policy: RetryPolicyOptions;
  /** Its outgoing rate limit with the default burst filled in; absent: unlimited. */
  rateLimit?: RateLimit;
}

export interface CompiledConfig {
  profiles: ReadonlyMap<string, CompiledProfile>;
  table: RouteTable;
  /** Every destination rules may name, by ref (`kafka:events`, `webhook:crm`); switched-off ones left out. */
  destinations: ReadonlyMap<string, CompiledDestination>;
  /** The shared retry policy. */
  retry: RetryPolicyOptions;
  /** The operational alert webhook with its defaults filled in; null when none is configured or it is switched off. */
  alerts: CompiledAlerts | null;
  /** The config as written, which a reload compares part by part; holds credentials: never log it. */
  source?: RoutesConfig;
}

/** The operational alert webhook, ready to use (see AlertsConfig for each field). */
export interface CompiledAlerts {
  url: string;
  secret: string | null;
  headers: Record<string, string>;
  timeoutMs: number;
  oldestPendingMs: number;
  checkEveryMs: number;
  repeatAfterMs: number;
}

/** The alerts section with its defaults: 5 s timeout, 15 min oldest pending, checked every 10 s, one alert per key per minute. */
function compileAlerts(a: ParsedConfig['alerts']): CompiledAlerts | null {
  if (!a || a.enabled === false) return null;
  return {
    url: a.url,
    secret: a.secret ?? null,
    headers: a.headers ?? {},
    timeoutMs: a.timeoutMs ?? 5_000,
    oldestPendingMs: a.oldestPending ?? 15 * 60_000,
    checkEveryMs: a.checkEvery ?? 10_000,
    repeatAfterMs: a.repeatAfter ?? 60_000,
  };
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
  const cfg = parseConfig(input, source);
  const declared = declaredDestinations(cfg);
  const problems = [...profileProblems(cfg), ...ruleProblems(cfg, declared)];
  if (problems.length > 0) throw new ConfigError(`${source} is invalid:\n${problems.join('\n')}`);

  const retry = resolvePolicy(cfg.retry);
  const destinations = new Map<string, CompiledDestination>();
  for (const [ref, d] of declared) {
    if (d.config.enabled === false) continue;
    const rateLimit = d.config.rateLimit ? { rateLimit: resolveRateLimit(d.config.rateLimit) } : {};
    destinations.set(ref, { ...d, policy: resolvePolicy(retry, d.config.retry), ...rateLimit });
  }
  return { profiles: compileProfiles(cfg, input), table: compileTable(cfg, destinations), destinations, retry, alerts: compileAlerts(cfg.alerts), source: input };
}

/** The schema check, with unset credentials said first and plainly; throws a ConfigError. */
function parseConfig(input: RoutesConfig, source: string): ParsedConfig {
  const parsed = ConfigSchema.safeParse(input);
  const unset = unsetCredentials(input);
  if (parsed.success && unset.length === 0) return parsed.data;
  const lines = [
    ...unset,
    ...(parsed.success ? [] : parsed.error.issues)
      // The unset credentials are already said, more plainly.
      .filter((i) => !unset.some((u) => u.startsWith(`  - ${describePath(i.path, input as never)}:`)))
      .map((i) => `  - ${describePath(i.path, input as never)}: ${i.message}`),
  ];
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
}

/** Every declared destination, switched-off ones included, in registry then declaration order. */
function declaredDestinations(cfg: ParsedConfig): Map<string, { kind: string; config: DestinationConfigBase }> {
  const declared = new Map<string, { kind: string; config: DestinationConfigBase }>();
  for (const kind of DESTINATION_KINDS) {
    const section = (cfg as Record<string, unknown>)[kind.section];
    if (section === undefined) continue;
    for (const [name, config] of Object.entries(kind.declared(section))) declared.set(`${kind.prefix}:${name}`, { kind: kind.prefix, config });
  }
  return declared;
}

/** What is wrong with a ref in `to` or `fallback`, or null when it names a declared destination. */
function refProblem(ref: string, declared: ReadonlyMap<string, { kind: string }>): string | null {
  if (declared.has(ref)) return null;
  const kind = destinationKind(ref);
  const name = ref.split(':', 2)[1];
  const what = kind
    ? `unknown ${kind.noun} "${name}"`
    : `"${ref}" is not ${DESTINATION_KINDS.map((k) => `"${k.prefix}:<${k.placeholder}>"`).join(' or ')}`;
  const candidates = [...declared].filter(([, d]) => !kind || d.kind === kind.prefix).map(([r]) => r);
  return `${what} (declared: ${candidates.join(', ') || 'none'})`;
}

function ruleProblems(cfg: ParsedConfig, declared: ReadonlyMap<string, { kind: string }>): string[] {
  const problems: string[] = [];
  const checkRefs = (refs: string[], where: (j: number) => string): void => {
    refs.forEach((ref, j) => {
      const problem = refProblem(ref, declared);
      if (problem) problems.push(`  - ${where(j)}: ${problem}`);
    });
  };
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
  return problems;
}

function profileProblems(cfg: ParsedConfig): string[] {
  const problems: string[] = [];
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
  return problems;
}

/** The rules and fallback, naming only live destinations. */
function compileTable(cfg: ParsedConfig, live: ReadonlyMap<string, unknown>): RouteTable {
  const liveOf = (refs: string[]): string[] => refs.filter((ref) => live.has(ref));
  // A rule whose every destination is switched off is as if it were not there: it must
  // neither swallow events (keeping them from the fallback) nor stop later rules.
  const active = cfg.rules.map((r, index) => ({ r, index })).filter(({ r }) => r.to.length === 0 || liveOf(r.to).length > 0);
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
    to: liveOf(r.to),
    stop: r.stop ?? false,
  }));
  return { rules, fallback: cfg.fallback ? liveOf(cfg.fallback) : null };
}

function compileProfiles(cfg: ParsedConfig, input: RoutesConfig): Map<string, CompiledProfile> {
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
  return profiles;
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

/**
 * Every destination ref the config declares (switched-off ones left out), or those of one kind.
 * @example destinationRefs(cfg, 'kafka') // ['kafka:events', 'kafka:failures']
 */
export function destinationRefs(cfg: CompiledConfig, kind?: string): string[] {
  return [...cfg.destinations].filter(([, d]) => kind === undefined || d.kind === kind).map(([ref]) => ref);
}
