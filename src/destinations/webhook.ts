/**
 * Outgoing webhooks: POST `{ type, timestamp, data }`, signed with the Standard Webhooks
 * scheme when a secret is set. Only 2xx is success; 410 disables the endpoint.
 */
import { Webhook } from 'standardwebhooks';
import { DestinationGoneError, NonRetriableError, RetriableError, type RouterError } from '../errors.js';
import { isRetriableStatus, parseRetryAfter, type RetryPolicyOptions } from '../dispatch/retry.js';
import type { WebhookConfig } from '../route/define-routes.js';
import { redactText, redactUrl } from '../redact.js';
import type { PendingDelivery } from '../spool/spool.js';
import type { DeliveryOutcome, Destination } from './types.js';

export class WebhookDestination implements Destination {
  readonly maxBatch: number;
  readonly lingerMs = 0;
  private readonly signer: Webhook | null;
  private readonly timeoutMs: number;
  /** The URL as errors show it: they reach logs and `last_error`, and the query often holds a token. */
  private readonly shownUrl: string;
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly ref: string,
    private readonly cfg: WebhookConfig,
    private readonly policy: RetryPolicyOptions,
  ) {
    this.maxBatch = cfg.concurrency ?? 4;
    this.timeoutMs = cfg.timeoutMs ?? 10_000;
    this.signer = cfg.secret ? new Webhook(cfg.secret) : null;
    this.shownUrl = redactUrl(cfg.url);
  }

  /** Messages in parallel; the reports of one message one after another, stopping at a failure. */
  async deliver(batch: readonly PendingDelivery[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
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
          outcomes[i] = failed ? { ok: false, skipped: true } : await this.track(this.post(batch[i]!, signal));
          failed ||= !outcomes[i]!.ok;
        }
      }),
    );
    return outcomes;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  private async post(d: PendingDelivery, signal: AbortSignal): Promise<DeliveryOutcome> {
    const now = new Date();
    // The stored body is already the event's JSON: wrap it without parsing it again.
    const payload = `{"type":${JSON.stringify(d.type)},"timestamp":${JSON.stringify(now.toISOString())},"data":${d.body}}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'kaleyra-callback-router',
      ...this.cfg.headers,
      'webhook-id': d.eventId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    };
    if (this.signer) headers['webhook-signature'] = this.signer.sign(d.eventId, now, payload);
    let res: Response;
    try {
      res = await fetch(this.cfg.url, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
        redirect: 'manual',
      });
      // Drain the body so the connection can be reused; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return { ok: false, error: new RetriableError(`POST ${this.shownUrl}: ${timeout ? 'timed out' : redactText(describe(err))}`, timeout ? 'timeout' : 'connection_error', { cause: err }) };
    }
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, error: this.classify(res) };
  }

  private classify(res: Response): RouterError {
    const msg = `POST ${this.shownUrl} answered ${res.status}`;
    const code = `http_${res.status}`;
    if (res.status === 410) return new DestinationGoneError(`${msg} (Gone): webhook disabled`);
    if (isRetriableStatus(this.policy, res.status)) {
      return new RetriableError(msg, code, { retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) });
    }
    return new NonRetriableError(msg, code);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}
