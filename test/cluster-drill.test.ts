/**
 * Issue 8: `npm run drill -- cluster --quick` end to end, as a user runs it. The drill starts its
 * own 3-node Kafka cluster on private ports (DRILL_KAFKA_PORT, default 19692..19694, controllers
 * 19792..19794), three router replicas in cluster mode and a webhook receiver; it crashes a
 * replica for good and a broker with a restart mid-load. It needs Java and the Kafka jars, not
 * KAFKA_BROKERS, and fails, never skips, when it cannot run.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const VERDICT = /^drill: accepted (\d+), lost (\d+) in Kafka, lost (\d+) at webhook, duplicates in Kafka (\d+), stale wrong (\d+)$/;

function runDrill(args: string[], timeoutMs: number): Promise<{ code: number | string; stdout: string; output: string }> {
  return new Promise((resolve) => {
    // `npm run drill` is `tsx drill/main.ts`; node with tsx's loader is the same without the npx
    // and tsx wrapper processes, so the timeout's SIGINT reaches the drill itself.
    const proc = spawn(process.execPath, ['--import', 'tsx', 'drill/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // SIGINT, not SIGKILL: the drill then kills its replicas and its cluster itself.
    const timer = setTimeout(() => proc.kill('SIGINT'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, output });
    });
  });
}

describe('npm run drill -- cluster --quick', () => {
  it('loses nothing, duplicates nothing and marks every late Sent stale through a replica crash and a broker crash, and reports throughput for 1, 2 and 3 replicas', async () => {
    const { code, stdout, output } = await runDrill(['cluster', '--quick'], 230_000);
    expect(code, output).toBe(0);

    const lines = stdout.trimEnd().split('\n');
    const verdict = VERDICT.exec(lines.at(-1) ?? '');
    expect(verdict, `last line: ${lines.at(-1)}`).not.toBeNull();
    const [accepted, lostInKafka, lostAtWebhook, duplicates, staleWrong] = verdict!.slice(1).map(Number);
    expect(accepted).toBeGreaterThan(0);
    expect({ lostInKafka, lostAtWebhook, duplicates, staleWrong }).toEqual({ lostInKafka: 0, lostAtWebhook: 0, duplicates: 0, staleWrong: 0 });

    // One table row per replica count: k, accepted, accepted/s, all in Kafka after, end to end/s.
    for (const k of [1, 2, 3]) expect(stdout, output).toMatch(new RegExp(`^drill:\\s+${k}\\s+[1-9]\\d*\\s+\\d+\\s+[\\d.]+ s\\s+\\d+\\s`, 'm'));
    expect(stdout).toMatch(/^drill: note: this machine has \d+ cores/m);
    expect(stdout).toMatch(/SIGKILL to replica 3 \(not restarted\)/);
    expect(stdout).toMatch(/SIGKILL to Kafka node 2/);
    expect(stdout).toMatch(/Kafka node 2 is back/);
  }, 240_000);

  it('refuses an unknown drill with the usage and exit code 2', async () => {
    const { code, output } = await runDrill(['nonsense'], 30_000);
    expect(code).toBe(2);
    expect(output).toMatch(/unknown drill: nonsense/);
    expect(output).toMatch(/usage: npm run drill -- cluster/);
  }, 60_000);
});
