/**
 * The event contract as a downstream team gets it: the package packed with `npm pack`, installed
 * from the tarball into a project of its own outside this repository, reading the router's real
 * events from a real broker and verifying the router's real signed webhook.
 */
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { createTopics, kafkaBrokers, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { ROOT, postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const run = promisify(execFile);
const PACKAGE = '@kaleyra-callback-router/delivery-events';
const PACKAGE_DIR = join(ROOT, 'packages', 'delivery-events');
const SECRET = `whsec_${Buffer.from('kaleyra-callback-router-package-key').toString('base64')}`;

// Child npm runs as if typed in a shell there: the npm_* variables of an outer `npm test` would
// point it back at this repository (its prefix, its workspace).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

/** The downstream service: consumes until it has seen what it was told to expect, prints one JSON line each. */
const CONSUMER = `
import { consumeDeliveryEvents } from '${PACKAGE}';
const want = { events: Number(process.env.EXPECT_EVENTS), invalid: Number(process.env.EXPECT_INVALID) };
const seen = { events: 0, invalid: 0 };
const print = (line) => console.log(JSON.stringify(line));
// Stopping from inside a handler would wait for that handler: stop once it has returned.
const maybeDone = () => {
  if (seen.events >= want.events && seen.invalid >= want.invalid) setImmediate(() => consumer.stop().then(() => process.exit(0)));
};
const consumer = await consumeDeliveryEvents({
  brokers: process.env.BROKERS.split(','),
  groupId: process.env.GROUP,
  topics: [process.env.TOPIC],
  fromBeginning: true,
  onEvent: (event, meta) => {
    print({ kind: 'event', event_id: event.event_id, type: event.type, message_key: event.message_key, status_class: event.status_class, key: meta.key });
    seen.events++;
    maybeDone();
  },
  onInvalid: (error, meta, value) => {
    print({ kind: 'invalid', error: error.name, value, key: meta.key });
    seen.invalid++;
    maybeDone();
  },
});
setTimeout(() => { console.error('consumer: timed out', JSON.stringify(seen)); process.exit(1); }, 60_000).unref();
`;

/** The downstream webhook endpoint's check, on a webhook captured from the router. */
const VERIFIER = `
import { readFileSync } from 'node:fs';
import { verifyWebhook, WebhookVerificationError } from '${PACKAGE}';
const { secret, body, headers } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { type, timestamp, data } = verifyWebhook(secret, body, headers);
const refused = (f) => { try { f(); return 'accepted'; } catch (e) { return e instanceof WebhookVerificationError ? 'WebhookVerificationError' : e.name; } };
console.log(JSON.stringify({
  verified: { type, timestamp, event_id: data.event_id, message_key: data.message_key, status_class: data.status_class },
  tampered: refused(() => verifyWebhook(secret, body.replace('Undelivered', 'Delivered'), headers)),
  wrongSecret: refused(() => verifyWebhook('whsec_' + Buffer.from('not-the-secret').toString('base64'), body, headers)),
}));
`;

/** Compiled against the installed declarations: the \`types\` export works for TypeScript consumers. */
const TYPED = `
import { parseDeliveryEvent, STATUS_CLASSES, type DeliveryEvent, type StatusClass } from '${PACKAGE}';
const event: DeliveryEvent = parseDeliveryEvent('{}');
const cls: StatusClass = event.status_class;
// @ts-expect-error status_class is closed over the package's vocabulary
const wrong: StatusClass = 'sent';
export const used = [cls, wrong, STATUS_CLASSES.length];
`;

describe(`${PACKAGE}, packed and installed in a project outside the repository`, () => {
  const topic = uniqueTopic('package');
  const scratch = tempDir('kcr-downstream-');
  const data = tempDir();
  let hooks: Receiver;
  let router: RunningRouter;

  beforeAll(async () => {
    kafkaBrokers(); // Without a broker this fails, never skips.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch.path], { cwd: PACKAGE_DIR, env: cleanEnv, timeout: 120_000 });
    const tarball = join(scratch.path, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    writeFileSync(join(scratch.path, 'package.json'), JSON.stringify({ name: 'downstream-team', private: true, type: 'module' }));
    // zod (a peer), kafkajs and standardwebhooks come from the npm registry, as for any team.
    await run('npm', ['install', tarball, '--no-audit', '--no-fund'], { cwd: scratch.path, env: cleanEnv, timeout: 180_000 });
    writeFileSync(join(scratch.path, 'consumer.mjs'), CONSUMER);
    writeFileSync(join(scratch.path, 'verify.mjs'), VERIFIER);
    writeFileSync(join(scratch.path, 'typed.ts'), TYPED);

    await createTopics([topic]);
    hooks = await startReceiver();
    router = await startTestRouter(
      {
        profiles: { default: {} },
        kafka: { topics: { events: topic } },
        webhooks: { downstream: { url: hooks.url, secret: SECRET } },
        rules: [{ name: 'everything', to: ['kafka:events', 'webhook:downstream'] }],
      },
      { dataDir: data.path },
    );
  }, 360_000);

  afterAll(async () => {
    await router?.close();
    await hooks?.close();
    data.remove();
    scratch.remove();
  });

  it('installs from the tarball with dist/, the JSON Schema and the README, and no sources or tests', () => {
    const installed = join(scratch.path, 'node_modules', ...PACKAGE.split('/'));
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json', 'schema']);
    const built = readdirSync(join(installed, 'dist'));
    expect(built).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'consumer.js', 'webhook.js']));
    expect(built.filter((f) => !/^[a-z-]+\.(js|d\.ts)$/.test(f))).toEqual([]);
  });

  it("parses the router's events into typed events and reports a record that is not one through onInvalid", async () => {
    const undelivered = (await (await postCallback(router.url, postSample())).json()) as { event_id: string };
    const delivered = (await (
      await postCallback(
        router.url,
        postSample({ message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:2', recipient: '919620838123', status: 'Delivered', status_trace: 'DELIVRD', description: '' }),
      )
    ).json()) as { event_id: string };
    // A record from a producer that is not the router (an older schema version).
    const kafka = new Kafka({ clientId: 'kcr-test-stranger', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const stranger = JSON.stringify({ schema_version: 1, event_id: 'legacy-1', callback_id: 'x' });
    await producer.send({ topic, messages: [{ key: 'legacy-1', value: stranger }] });
    await producer.disconnect();

    const { stdout } = await run(process.execPath, ['consumer.mjs'], {
      cwd: scratch.path,
      env: { ...cleanEnv, BROKERS: kafkaBrokers().join(','), TOPIC: topic, GROUP: `${topic}.downstream`, EXPECT_EVENTS: '2', EXPECT_INVALID: '1' },
      timeout: 90_000,
    });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = lines.filter((l) => l.kind === 'event').sort((a, b) => String(a.message_key).localeCompare(String(b.message_key)));
    expect(events).toEqual([
      { kind: 'event', event_id: undelivered.event_id, type: 'sms.undelivered', message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1', status_class: 'undelivered', key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1' },
      { kind: 'event', event_id: delivered.event_id, type: 'sms.delivered', message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:2', status_class: 'delivered', key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:2' },
    ]);
    expect(lines.filter((l) => l.kind === 'invalid')).toEqual([{ kind: 'invalid', error: 'ZodError', value: stranger, key: 'legacy-1' }]);
  });

  it("verifies the router's signed webhook and refuses it tampered with or checked with another secret", async () => {
    const { event_id } = (await (await postCallback(router.url, postSample({ message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:3' }))).json()) as { event_id: string };
    await waitFor(() => hooks.received.some((r) => r.json.data.event_id === event_id));
    const hook = hooks.received.find((r) => r.json.data.event_id === event_id)!;
    const captured = join(scratch.path, 'webhook.json');
    writeFileSync(captured, JSON.stringify({ secret: SECRET, body: hook.body, headers: hook.headers }));

    const { stdout } = await run(process.execPath, ['verify.mjs', captured], { cwd: scratch.path, env: cleanEnv, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      verified: { type: 'sms.undelivered', timestamp: hook.json.timestamp, event_id, message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:3', status_class: 'undelivered' },
      tampered: 'WebhookVerificationError',
      wrongSecret: 'WebhookVerificationError',
    });
  });

  it('type-checks a TypeScript consumer against the installed declarations', async () => {
    const tsconfig = {
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
      files: ['typed.ts'],
    };
    writeFileSync(join(scratch.path, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', scratch.path], { cwd: scratch.path, env: cleanEnv, timeout: 60_000 }).catch((e: { stdout: string }) => e);
    expect(result.stdout).toBe('');
  });
});
