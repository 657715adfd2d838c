/** Request latency at the HTTP edge: `kcr_http_request_duration_seconds{route,method,status}`. */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from '../metrics.js';

/** Methods kept as they are; anything else is `OTHER`, so a client cannot grow the label set. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Times every request. `route` is the pattern that answered (`/callbacks/:profile`), never the
 * raw path, so the series stay few; a request no route took is `unmatched`.
 * @example app.use('*', httpMetrics(metrics))
 */
export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  const seconds = metrics.histogram('http_request_duration_seconds', 'Time to answer an HTTP request, by route pattern, method and status.', ['route', 'method', 'status']);
  return async function httpTiming(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = routePath(c, -1);
      seconds.observe(
        { route: route && route !== '*' && route !== '/*' ? route : 'unmatched', method: METHODS.has(c.req.method) ? c.req.method : 'OTHER', status: String(c.res.status) },
        (performance.now() - started) / 1000,
      );
    }
  };
}
