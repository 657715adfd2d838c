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
