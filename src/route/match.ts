/** Routing: which destinations an event goes to. Pure; tested with a table of cases. */
import type { DeliveryEvent } from '../event.js';
import { statusKey } from '../enrich/status.js';
import type { Patterns } from './define-routes.js';

/** A compiled pattern list: true when the value (or any of the values) matches. */
export type Matcher = (values: readonly (string | null)[]) => boolean;

export interface CompiledRule {
  name: string;
  index: number;
  status: Matcher | null;
  iso_code: Matcher | null;
  profile: Matcher | null;
  route_type: Matcher | null;
  status_trace: Matcher | null;
  final: boolean | null;
  stale: boolean | null;
  to: readonly string[];
  stop: boolean;
}

export interface RouteTable {
  rules: readonly CompiledRule[];
  fallback: readonly string[] | null;
}

export interface RouteMatch {
  /** Destination refs (`kafka:x`, `webhook:y`), each once, in rule order. */
  destinations: string[];
  /** Names of the rules that matched. */
  rules: string[];
  /** No rule matched and the fallback was used. */
  fallback: boolean;
}

/**
 * Compiles patterns. `fold` turns a value into its comparison form.
 * @example compilePatterns(['!IN', '!US'], (v) => v.toUpperCase())(['GB']) === true
 */
export function compilePatterns(patterns: Patterns, fold: (v: string) => string): Matcher {
  const list = typeof patterns === 'string' ? [patterns] : patterns;
  const pos: RegExp[] = [];
  const neg: RegExp[] = [];
  for (const p of list) {
    const negated = p.startsWith('!');
    const body = fold(negated ? p.slice(1) : p);
    const re = new RegExp(`^${body.split('*').map(escapeRegExp).join('.*')}$`);
    (negated ? neg : pos).push(re);
  }
  return (values) => {
    const present = values.filter((v): v is string => v !== null).map(fold);
    // A bare "*" also matches an absent value: it means "any".
    const anyPos =
      pos.length === 0 || pos.some((re) => re.source === '^.*$' || present.some((v) => re.test(v)));
    return anyPos && !neg.some((re) => present.some((v) => re.test(v)));
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

export const foldStatus = statusKey;
export const foldUpper = (v: string): string => v.trim().toUpperCase();
export const foldExact = (v: string): string => v;

function ruleMatches(rule: CompiledRule, e: DeliveryEvent): boolean {
  if (rule.final !== null && rule.final !== e.status_final) return false;
  if (rule.stale !== null && rule.stale !== e.stale) return false;
  if (rule.status && !rule.status([e.status, e.status_class])) return false;
  if (rule.iso_code && !rule.iso_code([e.iso_code])) return false;
  if (rule.profile && !rule.profile([e.profile])) return false;
  if (rule.route_type && !rule.route_type([e.route_type])) return false;
  if (rule.status_trace && !rule.status_trace([e.status_trace])) return false;
  return true;
}

/**
 * Every destination of every rule the event matches (fan-out), in order, until a rule with
 * `stop` matches. No match: the fallback, if any.
 * @example matchRoutes(event, table).destinations // ['kafka:events', 'webhook:crm']
 */
export function matchRoutes(event: DeliveryEvent, table: RouteTable): RouteMatch {
  const destinations: string[] = [];
  const rules: string[] = [];
  for (const rule of table.rules) {
    if (!ruleMatches(rule, event)) continue;
    rules.push(rule.name);
    for (const d of rule.to) if (!destinations.includes(d)) destinations.push(d);
    if (rule.stop) break;
  }
  if (rules.length === 0 && table.fallback) {
    return { destinations: [...table.fallback], rules, fallback: true };
  }
  return { destinations, rules, fallback: false };
}
