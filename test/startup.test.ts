/**
 * The process as users start it: `npm start` on the embedded default (no Kafka: the local
 * sink, with a warning), a bad config failing at start-up with the rule and field named, and
 * `kcr tail` printing events from a real topic.
 */
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTopics, kafkaBrokers, uniqueTopic, waitFor } from './support/kafka.js';
import { GET_SAMPLE_QUERY, ROOT, freePort, postCallback, postSample, spawnRouter, tempDir, writeConfig } from './support/router.js';

describe('start-up', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('runs the shipped routes.config.ts without Kafka, into the labelled local sink', async () => {
    const port = await freePort();
    const child = await spawnRouter(join(ROOT, 'routes.config.ts'), { DATA_DIR: dir.path, KAFKA_BROKERS: '', LOG_LEVEL: 'info' }, port);
    try {
      expect(child.output()).toContain('KAFKA_BROKERS is not set: Kafka topics go to the LOCAL SINK');
      const post = await postCallback(child.url, postSample());
      expect(post.status).toBe(200);
      const get = await fetch(`${child.url}/callbacks/default?${GET_SAMPLE_QUERY}`);
      expect(get.status).toBe(200);
      // Each sink file is its own destination, settled on its own: wait for both, not the first.
      const events = join(dir.path, 'sink', 'kaleyra.sms.events.jsonl');
      const failures = join(dir.path, 'sink', 'kaleyra.sms.failures.jsonl');
      const sinkLines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
      await waitFor(() => sinkLines(events).length >= 2 && sinkLines(failures).length >= 2, 15_000);
      const lines = sinkLines(events).map((l) => JSON.parse(l) as { key: string; value: { status: string } });
      expect(lines.map((l) => l.value.status).sort()).toEqual(['Not Sent', 'Undelivered']);
      expect(sinkLines(failures)).toHaveLength(2);
    } finally {
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
  });

  it('refuses to start on a rule naming an unknown webhook, naming the rule and the field', async () => {
    const config = writeConfig(
      dir.path,
      `{ profiles: { default: {} }, kafka: { topics: { events: 'e' } }, webhooks: { crm: { url: 'http://127.0.0.1:9/x' } },
         rules: [{ name: 'ok', to: ['kafka:events'] }, { name: 'india-failures', to: ['kafka:events', 'webhook:crmm' as never] }] }`,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--config', config], { cwd: ROOT, env: { ...process.env, PORT: '0' } });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => proc.on('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('rule "india-failures" (rules[1]), field "to[1]": unknown webhook "crmm" (declared: webhook:crm)');
  });

  it('tails a topic as readable lines with `kcr tail`', async () => {
    const topic = uniqueTopic('tail');
    await createTopics([topic]);
    const config = writeConfig(dir.path, JSON.stringify({ profiles: { default: {} }, kafka: { topics: { t: topic } }, rules: [{ name: 'all', to: ['kafka:t'] }] }));
    const port = await freePort();
    const router = await spawnRouter(config, { DATA_DIR: join(dir.path, 'tail'), KAFKA_BROKERS: kafkaBrokers().join(',') }, port);
    const tail = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'tail', topic, '--from-beginning', '--brokers', kafkaBrokers().join(',')], { cwd: ROOT });
    let out = '';
    tail.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      expect((await postCallback(router.url, postSample({ recipient: '919620838123' }))).status).toBe(200);
      await waitFor(() => out.includes('\n'), 60_000);
      expect(out).toMatch(new RegExp(`^${topic}\\[\\d\\]@0 2022-04-05T08:55:50.000Z IN \\+919620838123 Undelivered -> undelivered \\(final\\) REJECTED-MULTIPART msg=ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1 profile=default`));
    } finally {
      tail.kill('SIGTERM');
      router.proc.kill('SIGTERM');
      await router.exited;
    }
  });
});
