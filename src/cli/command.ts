/**
 * What a `kcr` command is: a name, a line of help, its options and a run function. Options that
 * name an operation's input field fill that field, so the CLI and the admin API validate with
 * the same schema (src/ops/schemas.ts) and a bad value is refused naming the option.
 */
import type { Operations } from '../ops/operations.js';
import type { Spelling } from '../ops/errors.js';
import type { CompiledConfig } from '../route/compile.js';
import type { Settings } from '../settings.js';

export interface CliOption {
  /** The flag without its dashes: `since` for `--since`. */
  flag: string;
  type: 'string' | 'boolean';
  /** May be given more than once (`--id 3 --id 4`). */
  multiple?: boolean;
  /** What the value looks like in help: `ISO`, `N`, `REF`. */
  value?: string;
  help: string;
  /** The operation's input field it fills (`event_id` for `--event`); none: the command reads it itself. */
  field?: string;
  /** Its value as the field's, when they differ (`--delivered` is `state: "done"`). */
  as?: (value: string | boolean | string[]) => unknown;
}

/** Words after the command (`enable REF`, `tail <topic...>`). */
export interface CliPositional {
  /** As shown in help: `REF`, `<topic...>`. */
  name: string;
  /** The operation's input field the first one fills; none: the command reads them itself. */
  field?: string;
  /** More than one may be given. */
  many?: boolean;
}

/** A command's arguments, read and mapped, not yet validated. */
export interface CommandArgs {
  /** The operation's input, from the options and positionals that name a field (numbers still text). */
  input: Record<string, unknown>;
  /** Every option given, by flag. */
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** What a command may use: output, the environment, the config, the store. Opened on first use. */
export interface CliContext {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  settings(): Settings;
  /** The routes config from `--config PATH`, else ROUTES_CONFIG, else ./routes.config.ts. */
  loadConfig(path?: string): Promise<CompiledConfig>;
  /** The operations on DATA_DIR's spool; with a config, re-ingest plans events with its rules. */
  operations(config?: CompiledConfig): Operations;
  /** Resolves when the operator stops the command (Ctrl-C, SIGTERM). */
  interrupted(): Promise<void>;
}

export interface Command {
  /** One word, or two for a subcommand (`rejected replay`). */
  name: string;
  /** One line, shown in the overview and atop the command's help. */
  summary: string;
  /** Further lines for the command's help. */
  details?: string;
  positional?: CliPositional;
  options: readonly CliOption[];
  /** Runs it; resolves with the exit code. Throws UsageError, OperationError or ConfigError (exit 2). */
  run(args: CommandArgs, ctx: CliContext): Promise<number>;
}

/** The command line is wrong: exit 2 with the message and a pointer to the command's help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * How a command names an input field in messages: by its option (`--since`, `--to`) or positional (`REF`).
 * @example cliSpelling(replay).field(['ids', 2]) // '--id'
 */
export function cliSpelling(command: Command): Spelling {
  return {
    field(path) {
      const name = path[0];
      const option = command.options.find((o) => o.field === name);
      if (option) return `--${option.flag}`;
      const { positional } = command;
      if (positional && positional.field === name) return positional.name;
      return name === undefined ? '(arguments)' : String(name);
    },
    all: 'pass --all',
  };
}

/**
 * The operation's input a command line gives: each option or positional that names a field
 * fills it; options not given leave their field out.
 * @example toInput(replay, { id: ['3', '4'], delivered: true }, []) // { ids: ['3', '4'], state: 'done' }
 */
export function toInput(command: Command, values: CommandArgs['values'], positionals: readonly string[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const o of command.options) {
    const v = values[o.flag];
    if (o.field === undefined || v === undefined) continue;
    const mapped = o.as ? o.as(v) : v;
    if (mapped !== undefined) input[o.field] = mapped;
  }
  const p = command.positional;
  if (p?.field !== undefined && positionals[0] !== undefined) input[p.field] = positionals[0];
  return input;
}
