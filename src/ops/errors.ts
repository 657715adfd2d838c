/**
 * How an operation refuses its input. The message is written once, here, and each front door
 * supplies its own words for a field (the API's `event_id`, the CLI's `--event`) and for "all".
 */
import type { z } from 'zod';
import { RouterError } from '../errors.js';

/** How a front door names an input field and how its user asks for everything. */
export interface Spelling {
  /** A field by its path in the operation's input: `['since']`, `['ids', 3]`; `[]` is the whole input. */
  field(path: readonly PropertyKey[]): string;
  /** How to ask for everything: `send {"all": true}`, `pass --all`. */
  all: string;
}

/** The input's own field names: the messages of errors outside any front door (logs, tests). */
export const FIELD_NAMES: Spelling = {
  field: (path) => (path.length ? path.map(String).join('.') : '(input)'),
  all: 'say all',
};

/**
 * `invalid_filter`: the input is wrong; `unknown_destination`: it names no destination;
 * `unknown_message`: the store keeps nothing of that message; `not_available`: this process cannot do it.
 */
export type OperationErrorCode = 'invalid_filter' | 'unknown_destination' | 'unknown_message' | 'not_available';

/**
 * An operator's request the operation will not carry out, whatever is retried: the front door
 * answers it (a 4xx, an exit code of 2) in its own words with `describe`.
 * @example throw new OperationError('invalid_filter', (s) => `name what to replay, or ${s.all}`)
 */
export class OperationError extends RouterError {
  declare readonly code: OperationErrorCode;

  constructor(
    code: OperationErrorCode,
    private readonly words: (spelling: Spelling) => string,
  ) {
    super(words(FIELD_NAMES), { code, retriable: false });
  }

  /** The message in a front door's words. */
  describe(spelling: Spelling): string {
    return this.words(spelling);
  }
}

/**
 * The first few problems, each cut short: a message must stay small whatever was sent.
 * @example describeIssues(error.issues, FIELD_NAMES) // 'since: must be an ISO 8601 date-time such as 2024-01-31T12:00:00Z'
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], spelling: Spelling): string {
  const shown = issues.slice(0, 5).map((i) => {
    const line = `${spelling.field(i.path)}: ${i.message}`;
    return line.length > 200 ? `${line.slice(0, 199)}…` : line;
  });
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`);
  return shown.join('; ');
}

/**
 * Parses an operation's input, or throws the `invalid_filter` OperationError naming each field.
 * @example parseInput(ReplayInput, { ids: [12] }) // { ids: [12] }
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const { issues } = parsed.error;
    throw new OperationError('invalid_filter', (spelling) => describeIssues(issues, spelling));
  }
  return parsed.data;
}
