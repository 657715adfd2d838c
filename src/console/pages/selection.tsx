/** @jsxImportSource hono/jsx */
/**
 * What the Dead letters and Refused pages share: a selection read from a form (ticked ids, or
 * every one matching the filter), a confirmation asked on the server before anything changes
 * (so it holds without script and in tests), and a refusal said in the console's words.
 */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { OperationError, type Spelling } from '../../ops/errors.js';
import { fromText } from '../../ops/schemas.js';
import { CsrfField } from '../layout.js';

/** A form or query as text: a repeated field (`ids`) is a list. */
export type Fields = Record<string, string | string[]>;

/**
 * A POSTed form, repeated fields as lists, files dropped.
 * @example const form = await formFields(c); form.ids // ['3', '4']
 */
export async function formFields(c: Context): Promise<Fields> {
  const body = await c.req.parseBody({ all: true });
  const out: Fields = {};
  for (const [k, v] of Object.entries(body)) {
    const texts = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
    if (texts.length) out[k] = Array.isArray(v) ? texts : texts[0]!;
  }
  return out;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** A date-time typed without a zone is UTC, as the page says: `2026-11-01 10:00` is `2026-11-01T10:00:00Z`. */
const LOCAL_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d{1,3})?)?$/;

/**
 * The filter fields filled in, trimmed; empty ones left out (the schemas refuse an empty text,
 * which must never widen a selection), times without a zone read as UTC.
 * @example filterOf({ destination: 'webhook:crm', code: '', since: '2026-11-01 10:00' }, ['destination', 'code', 'since'])
 * // { destination: 'webhook:crm', since: '2026-11-01T10:00:00Z' }
 */
export function filterOf(source: Readonly<Record<string, string | string[] | undefined>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = first(source[name])?.trim();
    if (!v) continue;
    const m = (name === 'since' || name === 'until') && LOCAL_TIME.exec(v);
    out[name] = m ? `${m[1]}T${m[2]}${m[3] ?? ':00'}Z` : v;
  }
  return out;
}

/** What the operator chose on a list page: the ticked rows, or all matching the filter. */
export interface Selection {
  /** The operation's input (ids still text: fromText reads them). */
  input: Record<string, unknown>;
  /** The fields to carry through the confirmation, as the form sent them. */
  echo: Fields;
  /** How many rows were ticked; null: all matching the filter. */
  ticked: number | null;
}

/**
 * The selection a list page's form sends: `scope=selected` with `ids`, or `scope=matching` with
 * the filter fields (none: `all`, which the page's button says).
 * @example selectionOf({ scope: 'selected', ids: ['3'] }, ['profile']) // { input: { ids: [3] }, ticked: 1, ... }
 */
export function selectionOf(form: Fields, filterNames: readonly string[]): Selection | { error: string } {
  if (first(form.scope) === 'selected') {
    const ids = ([] as string[]).concat(form.ids ?? []).filter((id) => id !== '');
    if (ids.length === 0) return { error: 'Nothing was selected: tick the rows first, or use the button for all matching.' };
    return { input: fromText({ ids }), echo: { scope: 'selected', ids }, ticked: ids.length };
  }
  const filter = filterOf(form, filterNames);
  return { input: Object.keys(filter).length ? filter : { all: true }, echo: { scope: 'matching', ...filter }, ticked: null };
}

/**
 * How the console names a field in a refusal: by its label on the page.
 * @example consoleSpelling({ event_id: 'Event id' }).field(['event_id']) // '"Event id"'
 */
export function consoleSpelling(labels: Readonly<Record<string, string>>): Spelling {
  return {
    field: (path) => {
      const name = String(path[0] ?? '');
      if (name === 'ids') return 'the selected rows';
      return `"${labels[name] ?? name}"`;
    },
    all: 'use the button for all matching',
  };
}

/** An OperationError said in the page's words; anything else is thrown on. */
export function refusalText(err: unknown, spelling: Spelling): string {
  if (err instanceof OperationError) return err.describe(spelling);
  throw err;
}

/** A list page's state: its filter, and the notice an action (or a refused filter) left. */
export interface ListState {
  filter: Record<string, string>;
  notice?: { kind: 'ok' | 'bad'; text: string; detail?: string[] };
}

/**
 * The rows a list page shows for its filter; a filter the operation refuses becomes the page's
 * notice and a 400, with no rows.
 * @example const { rows, notice, status } = listed(() => deps.ops.listRejected(fromText(filter)), state, SPELLING, 200)
 */
export function listed<T>(list: () => T[], state: ListState, spelling: Spelling, status: 200 | 400): { rows: T[]; notice: ListState['notice']; status: 200 | 400 } {
  try {
    return { rows: list(), notice: state.notice, status };
  } catch (err) {
    return { rows: [], notice: { kind: 'bad', text: `That filter is not valid: ${refusalText(err, spelling)}` }, status: 400 };
  }
}

/** "1 dead letter", "12 dead letters". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Hidden inputs carrying fields through a form. */
export function HiddenFields({ fields }: { fields: Fields }) {
  return (
    <>
      {Object.entries(fields).flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((value) => <input type="hidden" name={name} value={value} />))}
    </>
  );
}

export interface ConfirmProps {
  /** Where the confirmed form goes (the same action, now with `confirm=yes`). */
  action: string;
  csrf: string;
  question: string;
  /** What the action will do, in a sentence or a list. */
  detail?: Child;
  fields: Fields;
  button: string;
  cancelHref: string;
}

/** The server-side confirmation: nothing has changed yet; the button sends the same selection with `confirm=yes`. */
export function Confirm({ action, csrf, question, detail, fields, button, cancelHref }: ConfirmProps) {
  return (
    <div class="card confirm" id="confirm" role="alertdialog" aria-labelledby="confirm-question">
      <h2 id="confirm-question">{question}</h2>
      {detail}
      <form method="post" action={action} class="actions">
        <CsrfField csrf={csrf} />
        <HiddenFields fields={fields} />
        <input type="hidden" name="confirm" value="yes" />
        <button type="submit" class="danger" data-testid="confirm">
          {button}
        </button>{' '}
        <a href={cancelHref} class="cancel">
          Cancel
        </a>
      </form>
    </div>
  );
}

/**
 * A list page's URL with its filter, for Cancel and for links.
 * @example listHref('/console/dead-letters', { destination: 'webhook:crm' }) // '/console/dead-letters?destination=webhook%3Acrm'
 */
export function listHref(path: string, filter: Readonly<Record<string, string>>): string {
  const q = new URLSearchParams(filter).toString();
  return q ? `${path}?${q}` : path;
}

/** A time for a table: ISO, to the second, in UTC. */
export function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** Whether the confirming POST said yes. */
export const confirmed = (form: Fields): boolean => first(form.confirm) === 'yes';
