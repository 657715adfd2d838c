/** The overview of every command, and one command's help, both made from the command table. */
import type { CliOption, Command } from './command.js';

const usageOf = (c: Command): string => (c.positional ? `${c.name} ${c.positional.name}` : c.name);
const flagOf = (o: CliOption): string => (o.value ? `--${o.flag} ${o.value}` : `--${o.flag}`);

/** Left column padded to the widest entry, then the text. */
function columns(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, text]) => `  ${left.padEnd(width)}${text}`);
}

/**
 * What `kcr`, `kcr help` and an unknown command print.
 * @example overview(COMMANDS).split('\n')[0] // 'kcr <command> [options]'
 */
export function overview(commands: readonly Command[]): string {
  return [
    'kcr <command> [options]',
    '',
    ...columns(commands.map((c) => [usageOf(c), c.summary])),
    '',
    "kcr help <command> (or kcr <command> --help) lists a command's options.",
    'The spool is DATA_DIR/spool.db (default ./data/spool.db).',
  ].join('\n');
}

/**
 * What `kcr help <command>` and `kcr <command> --help` print.
 * @example commandHelp(replay).split('\n')[0] // 'kcr replay [options]'
 */
export function commandHelp(command: Command): string {
  const options: [string, string][] = command.options.map((o) => [flagOf(o), o.help]);
  options.push(['--help', 'this help']);
  return [
    `kcr ${usageOf(command)}${command.options.length ? ' [options]' : ''}`,
    '',
    command.summary,
    ...(command.details ? [command.details] : []),
    '',
    ...columns(options),
  ].join('\n');
}
