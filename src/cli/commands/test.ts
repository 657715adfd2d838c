/**
 * `kcr test FILE`: what the router would do with the callback in FILE (JSON, a query string,
 * XML, key=value text), by the routes config, without storing or sending anything: the event,
 * the rules, the destinations; or the 4xx and why. The console's Try page answers the same.
 */
import { readFile } from 'node:fs/promises';
import { guessContentType, tryCallback, tryInput, UNKNOWABLE, type TryResult } from '../../ingest/try.js';
import type { CompiledConfig } from '../../route/compile.js';
import { CALLBACK_METHODS, type CallbackMethod } from '../../route/define-routes.js';
import { UsageError, type Command } from '../command.js';
import { OPTIONS } from './options.js';

/** The profile to try: the one named, else the only one, else "default". */
function profileOf(config: CompiledConfig, named: string | undefined): string {
  if (named !== undefined) return named;
  const names = [...config.profiles.keys()];
  if (names.length === 1) return names[0]!;
  if (config.profiles.has('default')) return 'default';
  throw new UsageError(`name the profile with --profile (${names.join(', ')})`);
}

/** The method a file was most likely sent with, among those the profile takes: a query string by GET, a body by POST. */
function methodOf(config: CompiledConfig, profile: string, payload: string): string {
  const takes = config.profiles.get(profile)?.methods ?? new Set<CallbackMethod>(['POST']);
  const asQuery = guessContentType(payload) === 'application/x-www-form-urlencoded';
  const order: CallbackMethod[] = asQuery ? ['GET', 'POST', 'DELETE', 'PUT'] : ['POST', 'PUT'];
  return order.find((m) => takes.has(m)) ?? 'POST';
}

/** The result as lines for a terminal. */
function resultLines(r: TryResult): string[] {
  if (!r.accepted) {
    return [`refused: ${r.status} ${r.error}: ${r.message}`, ...(r.problems ?? []).map((p) => `  ${p.field}: ${p.problem}`)];
  }
  const { route } = r;
  const where = route.destinations.length ? route.destinations.join(', ') : 'nowhere (it would be stored and not delivered)';
  const rules = route.rules.length ? route.rules.join(', ') : route.fallback ? 'none (the fallback takes it)' : 'none';
  const lines = [`accepted: 200 by profile "${r.profile}" as event ${r.event.event_id} (${r.event.type})`, `rules: ${rules}`, `destinations: ${where}`];
  if (r.if_stale) lines.push(`if stale: rules ${r.if_stale.rules.join(', ') || 'none'} -> ${r.if_stale.destinations.join(', ') || 'nowhere'}`);
  lines.push(`note: ${UNKNOWABLE}`, JSON.stringify(r.event, null, 2));
  return lines;
}

export const test: Command = {
  name: 'test',
  summary: 'what the router would do with a callback in a file: the event, its rules and destinations, or why it is refused',
  details:
    'FILE holds what Kaleyra sends: a JSON or XML body, key=value text, or a query string (a whole URL is fine).\n' +
    "Nothing is stored or sent. The profile's credentials are not checked; an encrypted payload is decrypted.\n" +
    'Exit code 0: it would be accepted; 1: it would be refused; 2: the command line or the config is wrong.',
  positional: { name: 'FILE' },
  options: [
    { flag: 'profile', type: 'string', value: 'NAME', help: 'the callback profile it is sent to (default: the only one, or "default")' },
    { flag: 'method', type: 'string', value: 'M', help: `${CALLBACK_METHODS.join(', ')} (default: GET for a query string, else POST, among those the profile takes)` },
    { flag: 'content-type', type: 'string', value: 'TYPE', help: 'the body\'s content type (default: guessed from the content)' },
    { flag: 'json', type: 'boolean', help: 'print the result as JSON' },
    OPTIONS.config,
  ],
  async run({ values, positionals }, ctx) {
    const file = positionals[0];
    if (file === undefined) throw new UsageError('name the FILE that holds the callback');
    const payload = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
    });
    const method = typeof values.method === 'string' ? values.method.toUpperCase() : undefined;
    if (method !== undefined && !(CALLBACK_METHODS as readonly string[]).includes(method)) {
      throw new UsageError(`--method takes ${CALLBACK_METHODS.join(', ')}, not ${JSON.stringify(values.method)}`);
    }
    const config = await ctx.loadConfig(values.config as string | undefined);
    const profile = profileOf(config, values.profile as string | undefined);
    const contentType = typeof values['content-type'] === 'string' ? values['content-type'] : null;
    const settings = ctx.settings();
    const input = tryInput(method ?? methodOf(config, profile, payload), contentType, payload);
    const result = tryCallback(config, profile, input, { sentTimeZone: settings.sentTimeZone, maxBodyBytes: settings.maxBodyBytes });
    if (values.json) ctx.out(JSON.stringify(result, null, 2));
    else for (const line of resultLines(result)) ctx.out(line);
    return result.accepted ? 0 : 1;
  },
};
