/**
 * Keeps secrets carried in URLs (userinfo, query values, fragments) out of logs and out of
 * `last_error`, which the admin API returns. Webhook URLs often carry a token in their query.
 */

const MASK = '***';

/**
 * The URL with its userinfo, every query value and its fragment masked; scheme, host, port,
 * path and query keys stay, so an operator can still tell which endpoint failed.
 * A parameter without "=" is masked whole: it may be the secret itself (`?s3cr3t`).
 * @example redactUrl('https://u:p@hooks.example/sms?token=abc&v=2') === 'https://***@hooks.example/sms?token=***&v=***'
 */
export function redactUrl(url: string): string {
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]{0,31}:\/\//.exec(url);
  let rest = scheme ? url.slice(scheme[0].length) : url;
  let out = scheme ? scheme[0] : '';
  if (scheme) {
    const authorityEnd = endOfAuthority(url, rest);
    const at = rest.lastIndexOf('@', authorityEnd - 1);
    if (at >= 0) {
      out += `${MASK}@`;
      rest = rest.slice(at + 1);
    }
  }
  const hash = rest.indexOf('#');
  const fragment = hash < 0 ? '' : rest.slice(hash + 1);
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  if (q < 0) out += rest;
  else {
    const params = rest
      .slice(q + 1)
      .split('&')
      .map((p) => {
        if (p === '') return p;
        const eq = p.indexOf('=');
        return eq < 0 ? MASK : `${p.slice(0, eq)}=${MASK}`;
      });
    out += `${rest.slice(0, q)}?${params.join('&')}`;
  }
  if (hash >= 0) out += fragment ? `#${MASK}` : '#';
  return out;
}

/**
 * Where the authority (`user:pass@host:port`) ends in `rest`, the URL after its `scheme://`.
 * A URL that parses ends it where the WHATWG parser does (`/`, `?`, `#`, `\`), so an `@` in the
 * path is left alone. One that does not parse (fetch says "Failed to parse URL from ..." and
 * quotes it) might hold an unencoded `/` in its password: then every `@` before the query counts.
 */
function endOfAuthority(url: string, rest: string): number {
  const stop = URL.canParse(url) ? /[/?#\\]/ : /[?#]/;
  const m = stop.exec(rest);
  return m ? m.index : rest.length;
}

/**
 * Free text (an error message from fetch or undici, say) with every `scheme://...` URL in it
 * passed through `redactUrl`. Punctuation that ends a sentence (`POST https://x/?a=1: timed out`)
 * is left outside the URL, so redacting twice changes nothing.
 * @example redactText('POST https://h.example/x?key=abc failed') === 'POST https://h.example/x?key=*** failed'
 */
export function redactText(text: string): string {
  // The scheme is capped in length so a long run of letters cannot make the search quadratic.
  return text.replace(/[a-zA-Z][a-zA-Z0-9+.-]{0,31}:\/\/[^\s"'<>`]+/g, (found) => {
    let end = found.length;
    while (end > 0 && '.,;:!)]}'.includes(found[end - 1]!)) end--;
    return redactUrl(found.slice(0, end)) + found.slice(end);
  });
}

/** Keys whose values are credentials, at any depth, whatever their case: the value goes whole. */
const CREDENTIAL_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|apikey|password|passwd|secret|client[-_]?secret|token|access[-_]?token|refresh[-_]?token|id[-_]?token|private[-_]?key|sasl[-_]?password)$|[-_](secret|password|token|api[-_]?key)$/i;

/** Keys whose values are phone numbers: recipients of the reports, and their E.164 forms. */
const PHONE_KEY = /^(recipient|recipient[-_]e164|to|from|mobile|msisdn|phone|phone[-_]?number|mobile[-_]?number|sender[-_]?number)$/i;

/** A value made of what phone numbers are written with (a `to: 'webhook:crm'` is not one). */
const PHONE_LIKE = /^[+\d\s().\-/xX*#]*\d[+\d\s().\-/xX*#]*$/;

/** What a credential becomes. */
export const REDACTED = '[REDACTED]';

/**
 * A phone number with every digit but the last four masked; a "+" and separators stay, so
 * support can still match "…8123" against a complaint without the log holding the number.
 * Four digits or fewer are masked whole (too short to be a number anyone can be reached on).
 * @example maskPhone('+919620838123') === '+********8123'
 */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '').length;
  if (digits <= 4) return value.replace(/\d/g, '*');
  let seen = 0;
  return value.replace(/\d/g, (d) => (++seen > digits - 4 ? d : '*'));
}

/**
 * A copy of structured log fields fit to write down: credentials (an `authorization` header, a
 * `password`, a `client_secret`, any `*_token`) replaced by `[REDACTED]`, phone numbers
 * (`recipient`, `to`, `mobile`, `msisdn`, ...) masked but their last four digits, and URLs in
 * strings through `redactText`. Keys are matched at any depth (headers objects, a nested event);
 * below depth 8 values are dropped rather than walked.
 * @example redactFields({ headers: { Authorization: 'Bearer x' }, recipient: '919620838123' })
 * // { headers: { Authorization: '[REDACTED]' }, recipient: '********8123' }
 */
export function redactFields<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 8) return '[too deep]' as T;
  if (value instanceof Error) return redactFields({ name: value.name, message: value.message, stack: value.stack }, depth) as T;
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1)) as T;
  if (value instanceof Headers) return redactFields(Object.fromEntries(value), depth) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (CREDENTIAL_KEY.test(k)) out[k] = v === null || v === undefined || v === '' ? v : REDACTED;
    else if (PHONE_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') && PHONE_LIKE.test(String(v))) out[k] = maskPhone(String(v));
    else out[k] = redactFields(v, depth + 1);
  }
  return out as T;
}
