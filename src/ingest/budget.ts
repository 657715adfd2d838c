/** The bounds a body is read within, and the refusal a reader throws when it leaves them. */

export interface ParseLimits {
  /** Nesting levels; the fields object itself is level 1, an object inside it level 2. */
  readonly maxDepth: number;
  /** Entries read in the whole body (keys, pairs, elements, attributes, array items), repeats included. */
  readonly maxFields: number;
  /** Characters in one key, element or attribute name. */
  readonly maxKeyLength: number;
}

/** A delivery report has 22 flat fields; these leave room for any template and no room for abuse. */
export const PARSE_LIMITS: ParseLimits = Object.freeze({ maxDepth: 32, maxFields: 1000, maxKeyLength: 256 });

/** Why a body is refused; thrown by the readers and returned by parse.ts as a ParseResult. */
export class BodyRefused extends Error {
  constructor(
    readonly error: 'invalid_body' | 'body_too_complex',
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new BodyRefused('invalid_body', message);

/** Counts entries and checks names as a reader meets them. */
export class Budget {
  private entries = 0;
  constructor(readonly limits: ParseLimits) {}

  entry(name: string): void {
    if (++this.entries > this.limits.maxFields) {
      throw new BodyRefused('body_too_complex', `the body has more than ${this.limits.maxFields} fields`);
    }
    if (name.length > this.limits.maxKeyLength) {
      throw new BodyRefused('body_too_complex', `a field name is longer than ${this.limits.maxKeyLength} characters (${JSON.stringify(name.slice(0, 32))}...)`);
    }
  }

  level(depth: number): void {
    if (depth > this.limits.maxDepth) {
      throw new BodyRefused('body_too_complex', `the body nests deeper than ${this.limits.maxDepth} levels`);
    }
  }
}

/** No limits: for callers that cannot report a refusal (fieldsFromQuery). */
export const UNLIMITED: ParseLimits = { maxDepth: Infinity, maxFields: Infinity, maxKeyLength: Infinity };

export type Fields = Record<string, unknown>;

/**
 * A fresh fields object: an ordinary one, so V8 gives every callback of one shape the same
 * hidden class (null-prototype objects live in dictionary mode, which made every later property
 * read in zod, enrich and JSON.stringify several times slower). Fields are set with `setField`.
 */
export const newFields = (): Fields => ({});

/**
 * Sets a field as an own data property whatever its name. Only `__proto__` needs care: on an
 * ordinary object, assigning it would set the prototype instead. `constructor`, `toString` and
 * the rest become own properties by plain assignment.
 * @example setField(fields, '__proto__', 'x') // an own field named "__proto__"; no prototype change
 */
export function setField(target: Fields, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
