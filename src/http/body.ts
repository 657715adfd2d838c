/**
 * Reading a callback's body and query string as cheaply as possible: this is the hot path,
 * run once per callback.
 */
import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';

/**
 * The body as text, with `over: true` when it is larger than `max` bytes (then only the first
 * `max` bytes are read). Served by @hono/node-server it reads Node's request stream directly:
 * building a Web Request and stream for every callback was the largest cost on the hot path.
 * @example const { text, over } = await readBody(c, 256 * 1024);
 */
export async function readBody(c: Context, max: number): Promise<{ text: string; over: boolean }> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > max) return { text: '', over: true };
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const source: AsyncIterable<Uint8Array> | null = incoming ?? (c.req.raw.body as AsyncIterable<Uint8Array> | null);
  if (source) {
    for await (const chunk of source) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) break;
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, max).toString('utf8'), over: size > max };
}

/**
 * The raw query string (no "?"). Slicing the request line is enough; a full URL parse is not.
 * @example rawQuery(c) // 'sid=abc&status=DELIVRD' for /callbacks/default?sid=abc&status=DELIVRD
 */
export function rawQuery(c: Context): string {
  const url = c.req.url;
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}
