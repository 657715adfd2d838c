/**
 * How the HTTP edge fails. A client's error is a `CallbackError` carrying its own response;
 * `onError` is the one place that turns anything thrown into an answer.
 */
import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { StoreUnavailableError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { FieldProblem } from '../validate/callback.js';

/**
 * An error that is the client's: answered with its status and a JSON body naming the problem.
 * @example throw new CallbackError(405, 'method_not_allowed', 'PATCH is not a Kaleyra callback method', undefined, { allow: 'GET, POST' })
 */
export class CallbackError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly error: string,
    message: string,
    readonly problems?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }

  override getResponse(): Response {
    const body = { error: this.error, message: this.message, ...(this.problems ? { problems: this.problems } : {}) };
    return Response.json(body, { status: this.status, headers: this.headers });
  }
}

/** What `onError` needs: somewhere to log and one counter. */
export interface ErrorDeps {
  logger: Pick<Logger, 'error'>;
  metrics: { inc(name: 'callbacks_unavailable_total'): void };
}

/**
 * The app's error handler. An HTTPException answers with its own response; a spool that cannot
 * commit is a 503 with Retry-After (Kaleyra retries, nothing is lost); anything else is a 500
 * that says nothing of the cause to the client and everything to the log.
 * @example app.onError(onError({ logger, metrics }))
 */
export function onError({ logger, metrics }: ErrorDeps): ErrorHandler {
  return function onError(err, c) {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof StoreUnavailableError) {
      logger.error('callback not accepted: the spool cannot commit', { error: err.message });
      metrics.inc('callbacks_unavailable_total');
      return c.json({ error: 'unavailable', message: 'the router cannot store callbacks right now; retry later' }, 503, { 'retry-after': '5' });
    }
    logger.error('unexpected error', { error: errorMessage(err), stack: err instanceof Error ? err.stack : undefined });
    return c.json({ error: 'internal', message: 'unexpected error' }, 500);
  };
}
