/**
 * `npm run bench`: how fast the router turns callbacks into durable, routed events.
 *   1. the pure path (parse -> validate -> enrich -> match), in-process, ops/s;
 *   2. end to end over HTTP on 127.0.0.1: POST callbacks with keep-alive at a fixed
 *      concurrency until each is committed to the spool (group commit), req/s and latency.
 * The router runs in its own process on the shipped routes.config.ts; Kafka destinations use
 * KAFKA_BROKERS when set, else the local sink. Bounded: BENCH_REQUESTS
 * (default 20000) requests at BENCH_CONCURRENCY (default 64).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrichEvent } from '../src/enrich/enrich.js';
import { uuidv7 } from '../src/enrich/ids.js';
import { parseCallbackBody } from '../src/ingest/parse.js';
import { loadRoutes } from '../src/route/load.js';
import { matchRoutes } from '../src/route/match.js';
import { validateCallback } from '../src/validate/callback.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

function sample(i: number): string {
  return JSON.stringify({
    sender: 'TEST', recipient: `9196208${String(i % 100000).padStart(5, '0')}`, type: 'DEFAULT', flash: 0, total: 1, source: 'API',
    price: '0.001354', iso_code: i % 3 === 0 ? 'IN' : 'GB', message_id: `bench-${i}:1`, country_name: 'India', campaign_name: '',
    length: 5, units: 1, sent_time: '2022-04-05 09:55:50', status_time: '2022-04-05 08:55:50+00:00',
    status_trace: i % 2 ? 'DELIVRD' : 'REJECTED-MULTIPART', status: i % 2 ? 'Delivered' : 'Undelivered',
    description: 'bench', id: `cb-${i}`, ref: '', ref1: '', ref2: '',
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const root = join(import.meta.dirname, '..');
  const config = await loadRoutes(join(root, 'routes.config.ts'));

  // 1. The pure path.
  const bodies = Array.from({ length: 1000 }, (_, i) => sample(i));
  const N = 100_000;
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const p = parseCallbackBody(bodies[i % 1000]!, 'application/json');
    if (!p.ok) throw new Error('bad sample');
    const v = validateCallback(p.fields);
    if (!v.ok) throw new Error('bad sample');
    const e = enrichEvent(v.callback, p.fields, { profile: 'default', eventId: uuidv7(), receivedAt: new Date(), sentTimeZone: 'UTC' });
    matchRoutes(e, config.table);
  }
  const pureMs = performance.now() - t;
  console.log(`pure path  parse+validate+enrich+match: ${Math.round(N / (pureMs / 1000)).toLocaleString()} ops/s (${((pureMs * 1000) / N).toFixed(2)} µs/op)`);

  // 2. End to end over HTTP, the router in its own process (as deployed), load from this one.
  const dir = mkdtempSync(join(tmpdir(), 'kcr-bench-'));
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/server.ts')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      if (i > 300) throw new Error('the router did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        { agent, host: '127.0.0.1', port, path: '/callbacks/default', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  t = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const s = performance.now();
        const status = await post(sample(i));
        latencies.push(performance.now() - s);
        if (status !== 200) failed++;
      }
    }),
  );
  const httpMs = performance.now() - t;
  latencies.sort((a, b) => a - b);
  console.log(
    `end to end HTTP -> durable spool commit (router process, ${process.env.KAFKA_BROKERS ? 'Kafka' : 'local sink'}): ${REQUESTS} requests, concurrency ${CONCURRENCY}: ` +
      `${Math.round(REQUESTS / (httpMs / 1000)).toLocaleString()} req/s; latency p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms; non-200: ${failed}`,
  );
  // Let the dispatcher catch up, and report when the whole backlog was delivered.
  const gauge = async (state: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return [...text.matchAll(new RegExp(`^kcr_deliveries\\{destination="[^"]+",state="${state}"\\} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  };
  const until = Date.now() + 120_000;
  while (Date.now() < until && (await gauge('pending')) > 0) await new Promise((r) => setTimeout(r, 100));
  const totalMs = performance.now() - t;
  console.log(`delivered ${await gauge('done')} deliveries within ${(totalMs / 1000).toFixed(2)} s of the first request`);
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  if (failed > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
