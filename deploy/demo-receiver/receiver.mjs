/**
 * The demo receiver of docker-compose.yml: takes the router's webhook deliveries and operational
 * alerts, checks their Standard Webhooks signature, and prints one line for each. Plain Node, no
 * dependencies. Not for production: it keeps nothing.
 *
 *   WEBHOOK_SECRET=whsec_... PORT=8090 node deploy/demo-receiver/receiver.mjs
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8090);
const secret = process.env.WEBHOOK_SECRET ?? '';
const key = secret ? Buffer.from(secret.replace(/^whsec_/, ''), 'base64') : null;

/** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, base64, any of the `v1,` signatures. */
function verified(headers, body) {
  if (!key) return 'unchecked (no WEBHOOK_SECRET)';
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const given = String(headers['webhook-signature'] ?? '').split(' ');
  if (!id || !ts) return 'UNSIGNED';
  const want = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  const ok = given.some((s) => {
    const [version, sig] = s.split(',');
    const got = Buffer.from(sig ?? '', 'base64');
    return version === 'v1' && got.length === want.length && timingSafeEqual(got, want);
  });
  return ok ? 'signature ok' : 'BAD SIGNATURE';
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let summary = body.slice(0, 300);
    try {
      const json = JSON.parse(body);
      const e = json.data ?? {};
      summary = e.status
        ? `${json.type} ${e.status} ${e.message_id ?? e.request_id ?? ''} ${e.iso_code ?? ''} (${e.description ?? ''})`
        : `${json.type ?? 'message'} ${JSON.stringify(json.data ?? json)}`;
    } catch {
      // Not JSON: print it as it came.
    }
    console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${verified(req.headers, body)}: ${summary}`);
    res.writeHead(204).end();
  });
}).listen(port, () => console.log(`demo receiver listening on :${port}`));
