/**
 * `kcr`, the operator's command line: tail a topic, print the event schema, check a config, list
 * and replay dead letters, backfill a destination, re-ingest refused callbacks. Run it with
 * `npm run cli -- <command>`; `npm run cli -- help` lists the commands.
 */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  env: process.env,
});
process.exit(code);
