/**
 * Compresses a group commit's bodies (body-codec.ts, format 2) on a thread of its own, while the
 * event loop goes on reading requests: zlib was about 10 % of the main thread at saturation.
 * One thread per process (`bodyCompressor`, shared by every spool), started on first use and never
 * keeping the process alive. A thread that fails (an error, an exit) is not started again: from
 * then on `compress` answers null and the commit compresses inline, as it did before.
 */
import { Worker } from 'node:worker_threads';
import { FORMAT_2, rowKeysText, type BodyKeys } from './body-codec.js';

export interface BodyToCompress {
  json: string;
  keys: BodyKeys;
}

/**
 * The thread's code, CommonJS run with `eval`: it needs no loader for TypeScript, in tests as in
 * the image. It makes what encodeBody makes (body-compressor.test.ts holds the two equal) and
 * answers with every body in one buffer it hands over (transferred, not copied).
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { deflateRawSync } = require('node:zlib');
const { format, chunkSize } = workerData;
const dictionary = Buffer.from(workerData.dictionary);
parentPort.on('message', ({ jsons, keys }) => {
  try {
    const packed = jsons.map((json, i) => deflateRawSync(json, { dictionary: Buffer.concat([dictionary, Buffer.from(keys[i])]), chunkSize }));
    const lengths = packed.map((p) => p.length + 1);
    const all = Buffer.allocUnsafeSlow(lengths.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const p of packed) {
      all[at] = format;
      p.copy(all, at + 1);
      at += p.length + 1;
    }
    parentPort.postMessage({ all, lengths }, [all.buffer]);
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});
`;

type Reply = { all: Uint8Array; lengths: number[] } | { error: string };

export class BodyCompressor {
  private thread: Worker | null = null;
  private broken = false;
  /** The callers waiting, in the order they asked: the thread answers in that order. */
  private readonly waiting: ((reply: Reply | null) => void)[] = [];

  /**
   * Each body stored as encodeBody(json, keys) stores it, in order; null when the thread cannot
   * (then compress inline). Never rejects.
   * @example const bodies = await compressor.compress(batch.map((w) => ({ json: w.body, keys: w.event })))
   */
  compress(items: readonly BodyToCompress[]): Promise<Buffer[] | null> {
    if (this.broken || items.length === 0) return Promise.resolve(null);
    let thread: Worker;
    try {
      thread = this.thread ??= this.start();
    } catch {
      this.broken = true;
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      this.waiting.push((reply) => resolve(reply === null || 'error' in reply ? null : split(reply.all, reply.lengths)));
      thread.postMessage({ jsons: items.map((i) => i.json), keys: items.map((i) => rowKeysText(i.keys)) });
    });
  }

  /** Stops the thread; from then on `compress` answers null. */
  async stop(): Promise<void> {
    this.broken = true;
    const thread = this.thread;
    this.thread = null;
    await thread?.terminate();
  }

  private start(): Worker {
    const thread = new Worker(THREAD, { eval: true, workerData: FORMAT_2, name: 'kcr-body-compressor' });
    thread.unref();
    thread.on('message', (reply: Reply) => this.waiting.shift()?.(reply));
    const failed = () => {
      this.broken = true;
      this.thread = null;
      for (const answer of this.waiting.splice(0)) answer(null);
    };
    thread.on('error', failed);
    thread.on('exit', failed);
    return thread;
  }
}

/** The bodies one after the other in `all`, as views (no copy). */
function split(all: Uint8Array, lengths: readonly number[]): Buffer[] {
  let at = all.byteOffset;
  return lengths.map((n) => {
    const body = Buffer.from(all.buffer, at, n);
    at += n;
    return body;
  });
}

/** The process's compressor, shared by every spool. */
export const bodyCompressor = new BodyCompressor();
