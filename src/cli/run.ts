/**
 * Runs one `kcr` command line: finds the command in the table, answers --help without opening
 * anything, reads the options into the operation's input and runs it. Exit codes: 0 done,
 * 1 done with failures (or an unexpected error), 2 the command line or the config is wrong.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../errors.js';
import { OperationError } from '../ops/errors.js';
import { fromText } from '../ops/schemas.js';
import { UsageError, cliSpelling, toInput, type Command, type CommandArgs } from './command.js';
import { COMMANDS } from './commands/index.js';
import { createContext, type CliIo } from './context.js';
import { commandHelp, overview } from './help.js';

/** The command the words start with (the longest name: `rejected replay` before `rejected`), and the words after it. */
function findCommand(words: readonly string[], commands: readonly Command[]): { command: Command; rest: string[] } | null {
  let found: Command | null = null;
  for (const c of commands) {
    const name = c.name.split(' ');
    if (name.every((w, i) => words[i] === w) && (!found || name.length > found.name.split(' ').length)) found = c;
  }
  return found ? { command: found, rest: words.slice(found.name.split(' ').length) } : null;
}

const HELP_FLAGS = new Set(['--help', '-h']);

/** The command's arguments, read with its own options only; a wrong one is a UsageError. */
function readArgs(command: Command, rest: string[]): CommandArgs {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of command.options) options[o.flag] = { type: o.type, multiple: o.multiple ?? false };
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: command.positional !== undefined, strict: true });
  } catch (err) {
    // node:util's parse errors (unknown option, missing value) are the operator's, not ours.
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message);
    throw err;
  }
  const { values, positionals } = parsed as { values: CommandArgs['values']; positionals: string[] };
  if (command.positional && !command.positional.many && positionals.length > 1) {
    throw new UsageError(`takes one ${command.positional.name}, not ${positionals.length}`);
  }
  return { input: fromText(toInput(command, values, positionals)), values, positionals };
}

/** Prints why a command did not run; resolves with its exit code. */
function report(err: unknown, command: Command, io: CliIo): number {
  const name = `kcr ${command.name}`;
  if (err instanceof UsageError) {
    io.err(`${name}: ${err.message}`);
    io.err(`see ${name} --help`);
    return 2;
  }
  if (err instanceof OperationError) {
    io.err(`${name}: ${err.describe(cliSpelling(command))}`);
    return 2;
  }
  if (err instanceof ConfigError) {
    io.err(`kcr: ${err.message}`);
    return 2;
  }
  io.err(`kcr: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}

/**
 * Runs `kcr` with these arguments (without the program name); resolves with the exit code.
 * @example await runCli(['replay', '--id', '12'], { out: console.log, err: console.error, env: process.env }) // 0
 */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [first, ...after] = argv;
  if (first === undefined || HELP_FLAGS.has(first) || (first === 'help' && after.length === 0)) {
    io.out(overview(commands));
    return 0;
  }
  const asked = first === 'help' ? after : argv;
  const found = findCommand(asked, commands);
  if (!found || (first === 'help' && found.rest.length > 0)) {
    io.err(`kcr: unknown command "${asked.join(' ').slice(0, 100)}"`);
    io.out(overview(commands));
    return 2;
  }
  const { command, rest } = found;
  if (first === 'help' || rest.some((w) => HELP_FLAGS.has(w))) {
    io.out(commandHelp(command));
    return 0;
  }
  const ctx = createContext(io);
  try {
    return await command.run(readArgs(command, rest), ctx);
  } catch (err) {
    return report(err, command, io);
  } finally {
    ctx.close();
  }
}
