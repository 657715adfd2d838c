/** Routing: which destinations an event goes to. Pure; tested with a table of cases. */
import type { DeliveryEvent } from '../event.js';
import { statusKey } from '../vocabulary/status.js';
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
  const pos: ((v: string) => boolean)[] = [];
  const neg: ((v: string) => boolean)[] = [];
  // A bare "*" also matches an absent value: it means "any".
  let any = false;
  for (const p of list) {
    const negated = p.startsWith('!');
    const body = fold(negated ? p.slice(1) : p);
    if (!negated && body === '*') any = true;
    (negated ? neg : pos).push(compileGlob(body));
  }
  return (values) => {
    const present = values.filter((v): v is string => v !== null).map(fold);
    const anyPos = pos.length === 0 || any || pos.some((test) => present.some(test));
    return anyPos && !neg.some((test) => present.some(test));
  };
}

/**
 * A glob where `*` is any run of characters (line breaks too) and everything else is literal.
 * Not a RegExp: `.*` per `*` backtracks, and `*OTP*` against a 240 KB `type` held the event
 * loop for seconds. Between a literal head and tail, taking each middle segment at its leftmost
 * place is enough for `*`-only globs (a later place never leaves more room for the rest), so the
 * work is one `indexOf` per segment over the value.
 * @example compileGlob('IN_*_X')('IN_abc_X') === true
 */
export function compileGlob(glob: string): (value: string) => boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return (v) => v === glob;
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((s) => s.length > 0);
  const fixed = head.length + tail.length;
  return (v) => {
    if (v.length < fixed || !v.startsWith(head) || !v.endsWith(tail)) return false;
    const end = v.length - tail.length;
    let at = head.length;
    for (const segment of middle) {
      const found = v.indexOf(segment, at);
      if (found < 0 || found + segment.length > end) return false;
      at = found + segment.length;
    }
    return true;
  };
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
