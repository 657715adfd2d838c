/**
 * The console's static files, served by the router itself (nothing is fetched from the
 * internet): its stylesheet and script, and uPlot (the chart library, from the npm registry,
 * read from node_modules once at start-up).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import { CONSOLE_CSS } from './assets/console-css.js';
import { CONSOLE_JS } from './assets/console-js.js';
import { OVERVIEW_JS } from './assets/overview-js.js';

const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: string;
}

function vendor(path: string, type: string): Asset {
  return { type, body: readFileSync(require.resolve(path), 'utf8') };
}

/**
 * GET /console/assets/<name>: long-cached, immutable per build.
 * @example console.route('/assets', assetRoutes())
 */
export function assetRoutes(): Hono {
  const assets: Record<string, Asset> = {
    'console.css': { type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
    'console.js': { type: 'text/javascript; charset=utf-8', body: CONSOLE_JS },
    'overview.js': { type: 'text/javascript; charset=utf-8', body: OVERVIEW_JS },
    'uplot.js': vendor('uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'),
    'uplot.css': vendor('uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'),
  };
  const app = new Hono();
  app.get('/:name', (c) => {
    const asset = assets[c.req.param('name')];
    if (!asset) return c.text('not found', 404);
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
  });
  return app;
}
