/**
 * Issue 3: the router is killed with SIGKILL mid-load and restarted on the same data dir.
 * Every callback answered 2xx before the kill is delivered, to Kafka and to the webhook, at
 * least once; duplicates are counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTopics, kafkaBrokers, readTopics, sleep, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { freePort, postSample, spawnRouter, tempDir, writeConfig, type ChildRouter } from './support/router.js';

describe('crash safety', () => {
  const topic = uniqueTopic('crash');
  const dir = tempDir();
  let hook: Receiver;
  let child: ChildRouter | undefined;

  afterAll(async () => {
    child?.proc.kill('SIGKILL');
    await hook?.close();
    dir.remove();
  });

  it('delivers every callback answered 2xx before a SIGKILL, after the restart', async () => {
    await createTopics([topic]);
    hook = await startReceiver();
    const config = writeConfig(
      dir.path,
      JSON.stringify({
        profiles: { default: {} },
        kafka: { topics: { all: topic } },
        webhooks: { sink: { url: hook.url } },
        rules: [{ name: 'all', to: ['kafka:all', 'webhook:sink'] }],
        retry: { initialDelayMs: 50, maxDelayMs: 1000 },
      }),
    );
    const env = { DATA_DIR: dir.path, KAFKA_BROKERS: kafkaBrokers().join(','), DISPATCH_POLL_MS: '50' };
    const port = await freePort();
    child = await spawnRouter(config, env, port);

    const accepted = new Set<string>();
    let n = 0;
    let killed = false;
    const worker = async () => {
      while (!killed) {
        const i = n++;
        try {
          const res = await fetch(`${child!.url}/callbacks/default`, { method: 'POST', body: JSON.stringify(postSample({ id: `crash-${i}`, message_id: `crash-msg-${i}` })) });
          if (res.status === 200) accepted.add(((await res.json()) as { event_id: string }).event_id);
        } catch {
          // The connection died with the process: not answered, so not promised.
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    await waitFor(() => accepted.size >= 400, 30_000, 10);
    child.proc.kill('SIGKILL');
    killed = true;
    expect(await child.exited).toBe('SIGKILL');
    await load;
    const promised = new Set(accepted);
    expect(promised.size).toBeGreaterThanOrEqual(400);

    child = await spawnRouter(config, env, port);
    const read = await readTopics([topic], (m) => [...promised].every((id) => m.some((x) => x.json.event_id === id)), 120_000, 1_000);
    await waitFor(() => [...promised].every((id) => hook.received.some((r) => r.json.data.event_id === id)), 60_000, 100);

    const inKafka = new Map<string, number>();
    for (const m of read) inKafka.set(String(m.json.event_id), (inKafka.get(String(m.json.event_id)) ?? 0) + 1);
    const inHook = new Map<string, number>();
    for (const r of hook.received) inHook.set(String(r.json.data.event_id), (inHook.get(String(r.json.data.event_id)) ?? 0) + 1);

    expect([...promised].filter((id) => !inKafka.has(id))).toEqual([]);
    expect([...promised].filter((id) => !inHook.has(id))).toEqual([]);
    const dupKafka = [...inKafka.values()].reduce((s, c) => s + c - 1, 0);
    const dupHook = [...inHook.values()].reduce((s, c) => s + c - 1, 0);
    console.log(`crash test: ${promised.size} callbacks answered 2xx before SIGKILL; all delivered; duplicates: kafka ${dupKafka}, webhook ${dupHook}`);
    await sleep(200);
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    child = undefined;
  });
  it('drains on SIGTERM: answers what it took in, leaves undelivered work on disk, delivers it after a restart', async () => {
    let up = false;
    const hook2 = await startReceiver(() => (up ? { status: 200 } : 'hang'));
    const config = writeConfig(
      dir.path,
      JSON.stringify({ profiles: { default: {} }, webhooks: { slow: { url: hook2.url, timeoutMs: 60_000 } }, rules: [{ name: 'all', to: ['webhook:slow'] }] }),
    );
    const env = { DATA_DIR: `${dir.path}/drain`, SHUTDOWN_TIMEOUT_MS: '2000', DISPATCH_POLL_MS: '50' };
    const port = await freePort();
    child = await spawnRouter(config, env, port);
    try {
      const accepted = new Set<string>();
      const statuses: number[] = [];
      const send = async (i: number) => {
        try {
          const res = await fetch(`${child!.url}/callbacks/default`, { method: 'POST', body: JSON.stringify(postSample({ id: `drain-${i}`, message_id: `drain-msg-${i}` })) });
          statuses.push(res.status);
          if (res.status === 200) accepted.add(((await res.json()) as { event_id: string }).event_id);
        } catch {
          // Refused once the router stopped listening: not answered, so not promised.
        }
      };
      for (let i = 0; i < 20; i++) await send(i);
      const burst = Promise.all(Array.from({ length: 40 }, (_, i) => send(100 + i)));
      await sleep(5);
      const termAt = Date.now();
      child.proc.kill('SIGTERM');
      await burst;
      expect(await child.exited).toBe(0);
      // It waited for the hanging webhook no longer than its shutdown deadline (plus start-up of the exit).
      expect(Date.now() - termAt).toBeLessThan(10_000);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(accepted.size).toBeGreaterThanOrEqual(20);

      up = true;
      child = await spawnRouter(config, env, port);
      await waitFor(() => [...accepted].every((id) => hook2.received.some((r) => r.json.data.event_id === id && r.at > termAt)), 60_000, 100);
      expect([...accepted].filter((id) => !hook2.received.some((r) => r.json.data.event_id === id))).toEqual([]);
    } finally {
      await hook2.close();
    }
  });
});
