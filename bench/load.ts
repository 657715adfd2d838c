/**
 * The load generator, run as its own process so that the target's process and this one are
 * measured apart (they still share the machine's cores). Prints one JSON LoadResult on stdout.
 *
 *   node --import tsx bench/load.ts --port 8080 --prefix r1-router [--mode closed --connections 64]
 *     [--mode open --rps 5000 --connections 256] [--warmup 1] [--duration 5]
 *
 * SIGTERM or SIGINT ends the run early and still prints the result.
 */
import { parseArgs } from 'node:util';
import { closedLoop, openLoop } from './load/loops.js';
import { sampleBodies } from './load/sample.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    path: { type: 'string', default: '/callbacks/default' },
    prefix: { type: 'string' },
    mode: { type: 'string', default: 'closed' },
    connections: { type: 'string', default: '64' },
    rps: { type: 'string' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
  },
});
if (!values.port || !values.prefix || (values.mode === 'open' && !values.rps)) {
  process.stderr.write('usage: load.ts --port <p> --prefix <unique> [--mode closed|open] [--rps <n>] [--connections <n>] [--warmup <s>] [--duration <s>]\n');
  process.exit(2);
}

const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
process.on('SIGINT', () => stop.abort());
const target = { port: Number(values.port), path: values.path };
const window = { warmupS: Number(values.warmup), durationS: Number(values.duration), stop: stop.signal };
const next = sampleBodies(values.prefix);
const connections = Number(values.connections);
const result =
  values.mode === 'open'
    ? await openLoop(target, next, Number(values.rps), connections, window)
    : await closedLoop(target, next, connections, window);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
