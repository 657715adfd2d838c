/**
 * One root error class. Retry code decides on `retriable` alone; `code` is the stable
 * failure name used the same way in logs, metrics and the dead-letter table.
 */
export class RouterError extends Error {
  readonly retriable: boolean;
  readonly code: string;

  constructor(message: string, opts: { code: string; retriable: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retriable = opts.retriable;
  }
}

/** A failure that will not go away by trying again (a 400 from a webhook, a bad payload). */
export class NonRetriableError extends RouterError {
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { code, retriable: false, cause });
  }
}

/** A passing failure: try again later, no sooner than `retryAfterMs` when the peer said so. */
export class RetriableError extends RouterError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, code: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { code, retriable: true, cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The destination told us to stop sending for good (webhook 410 Gone). */
export class DestinationGoneError extends RouterError {
  constructor(message: string, code = 'http_410') {
    super(message, { code, retriable: false });
  }
}

/** The start-up configuration is wrong; the message names the rule and the field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The durable store could not commit: callers must answer 503 so the sender retries. */
export class StoreUnavailableError extends RouterError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'store_unavailable', retriable: true, cause });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
