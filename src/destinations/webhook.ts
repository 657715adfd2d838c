/**
 * The webhook kind: `webhook:<name>` refs, declared under `webhooks`. POSTs
 * `{ type, timestamp, data }`, signed with the Standard Webhooks scheme when a secret is set.
 * Only 2xx is success. It reports what the receiver said (a status, a Retry-After, a 410
 * Gone); retrying, dead-lettering and disabling are the dispatcher's calls.
 */
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { DestinationGoneError, RetriableError, type RouterError } from '../errors.js';
import { rateLimitSchema } from '../dispatch/rate-limit.js';
import { redactText, redactUrl } from '../redact.js';
import { traceHeaders } from '../trace/headers.js';
import { HttpStatusError, parseRetryAfter, retryOverridesSchema } from '../retry/policy.js';
import type { WebhookConfig } from '../route/define-routes.js';
import { InFlight } from './in-flight.js';
import type { DeliveryItem, DeliveryOutcome, Destination, DestinationKind } from './types.js';

export class WebhookDestination implements Destination {
  readonly maxBatch: number;
  readonly lingerMs = 0;
  private readonly signer: Webhook | null;
  private readonly timeoutMs: number;
  /** The URL as errors show it: they reach logs and `last_error`, and the query often holds a token. */
  private readonly shownUrl: string;
  private readonly inFlight = new InFlight();

  constructor(
    readonly ref: string,
    private readonly cfg: WebhookConfig,
  ) {
    this.maxBatch = cfg.concurrency ?? 4;
    this.timeoutMs = cfg.timeoutMs ?? 10_000;
    this.signer = cfg.secret ? new Webhook(cfg.secret) : null;
    this.shownUrl = redactUrl(cfg.url);
  }

  /** Messages in parallel; the reports of one message one after another, stopping at a failure. */
  deliver(batch: readonly DeliveryItem[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    return this.inFlight.track(this.deliverAll(batch, signal));
  }

  private async deliverAll(batch: readonly DeliveryItem[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = new Array(batch.length);
    const byMessage = new Map<string, number[]>();
    batch.forEach((d, i) => {
      const list = byMessage.get(d.messageKey);
      if (list) list.push(i);
      else byMessage.set(d.messageKey, [i]);
    });
    await Promise.all(
      [...byMessage.values()].map(async (indexes) => {
        let failed = false;
        for (const i of indexes) {
          outcomes[i] = failed ? { kind: 'skipped' } : await this.post(batch[i]!, signal);
          failed ||= outcomes[i]!.kind !== 'delivered';
        }
      }),
    );
    return outcomes;
  }

  private async post(d: DeliveryItem, signal: AbortSignal): Promise<DeliveryOutcome> {
    let res: Response;
    try {
      res = await fetch(this.cfg.url, {
        method: 'POST',
        ...this.request(d),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
        redirect: 'manual',
      });
      // Drain the body so the connection can be reused; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const error = new RetriableError(`POST ${this.shownUrl}: ${timeout ? 'timed out' : redactText(describe(err))}`, timeout ? 'timeout' : 'connection_error', { cause: err });
      return { kind: 'failed', error };
    }
    if (res.status >= 200 && res.status < 300) return { kind: 'delivered' };
    return { kind: 'failed', error: this.report(res) };
  }

  /** The signed Standard Webhooks request for one delivery. */
  private request(d: DeliveryItem): { headers: Record<string, string>; body: string } {
    const now = new Date();
    // The stored body is already the event's JSON: wrap it without parsing it again.
    const body = `{"type":${JSON.stringify(d.type)},"timestamp":${JSON.stringify(now.toISOString())},"data":${d.body}}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'kaleyra-callback-router',
      ...this.cfg.headers,
      ...traceHeaders(d.trace),
      ...standardWebhookHeaders(this.signer, d.eventId, now, body),
    };
    return { headers, body };
  }

  /** What the answer said: gone for good (410), or a status and the wait it asked for. */
  private report(res: Response): RouterError {
    const msg = `POST ${this.shownUrl} answered ${res.status}`;
    if (res.status === 410) return new DestinationGoneError(`${msg} (Gone): webhook disabled`);
    return new HttpStatusError(msg, res.status, parseRetryAfter(res.headers.get('retry-after')));
  }

  async close(): Promise<void> {
    await this.inFlight.settled();
  }
}

/**
 * The Standard Webhooks headers of one request: its id, its time and, with a signer, the
 * signature of the body. Shared by the webhook destinations and the operational alerts.
 * @example standardWebhookHeaders(new Webhook('whsec_...'), 'evt_1', new Date(), body)['webhook-signature'] // 'v1,...'
 */
export function standardWebhookHeaders(signer: Webhook | null, id: string, now: Date, body: string): Record<string, string> {
  const headers: Record<string, string> = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)) };
  if (signer) headers['webhook-signature'] = signer.sign(id, now, body);
  return headers;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}

const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    secret: z.string().min(1).optional(),
    headers: z.record(z.string().min(1), z.string()).optional(),
    timeoutMs: z.number().int().positive().optional(),
    concurrency: z.number().int().positive().optional(),
    retry: retryOverridesSchema.optional(),
    rateLimit: rateLimitSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export const webhookKind: DestinationKind<Record<string, WebhookConfig>, WebhookConfig> = {
  prefix: 'webhook',
  placeholder: 'name',
  noun: 'webhook',
  section: 'webhooks',
  sectionSchema: z.record(z.string().min(1), webhookSchema),
  declared: (section) => section,
  open: (configs) => ({ destinations: new Map([...configs].map(([ref, c]) => [ref, new WebhookDestination(ref, c)])) }),
};
