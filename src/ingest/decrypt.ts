/**
 * Undoes a callback profile's "callback encryption": turns the encrypted parameter values of
 * one callback back into text, per profile, before validation sees them.
 *
 * What Kaleyra's page says (https://developers.kaleyra.io/docs/callback-encryption): each
 * parameter value can be encrypted with AES-128, AES-192 or AES-256 in GCM or CFB mode, "with
 * reference to OpenSSL standards", using the algorithm and key entered on the callback profile
 * (the "Enable Encryption" toggle; `enc` in the Create Callback Profiles API). Key lengths are
 * 128/192/256 bits. What it does not say, so what is ours and configurable:
 * - the key's spelling: by default its UTF-8 bytes (a 32-character key for AES-256), as
 *   PHP/OpenSSL-style integrations take it; `keyEncoding: 'hex' | 'base64'` otherwise;
 * - the IV: by default it travels at the front of each value (12 bytes for GCM, OpenSSL's
 *   default nonce length; 16 for CFB); `iv` sets a fixed one configured on the profile instead;
 * - the GCM tag: 16 bytes after the ciphertext (`tagPosition: 'after-iv'` for IV ‖ tag ‖ ct);
 * - CFB is OpenSSL's `aes-*-cfb` (128-bit feedback, no padding), which Node's names match;
 * - each value is base64 (default; standard or URL-safe alphabet) or hex.
 * So a value is base64(IV ‖ ciphertext ‖ tag) for GCM and base64(IV ‖ ciphertext) for CFB.
 */
import { isUtf8 } from 'node:buffer';
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

export const ENCRYPTION_ALGORITHMS = [
  'aes-128-gcm',
  'aes-192-gcm',
  'aes-256-gcm',
  'aes-128-cfb',
  'aes-192-cfb',
  'aes-256-cfb',
] as const;
export type EncryptionAlgorithm = (typeof ENCRYPTION_ALGORITHMS)[number];
type TextEncoding = 'utf8' | 'hex' | 'base64';

/** One profile's callback encryption, as entered on the profile (see the module comment). */
export interface EncryptionConfig {
  /** OpenSSL's name; the page's upper-case spelling ("AES-256-GCM") is accepted by the schema. */
  algorithm: EncryptionAlgorithm;
  /** The key; its length must fit the algorithm (16/24/32 bytes) after decoding. */
  key: string;
  /** How `key` is spelled: its UTF-8 bytes (default), hex or base64. */
  keyEncoding?: TextEncoding;
  /** A fixed IV configured on the profile; when absent, the IV travels at the front of each value. */
  iv?: string;
  /** How `iv` is spelled; default: the same as `keyEncoding`. */
  ivEncoding?: TextEncoding;
  /** GCM only: length of the IV at the front of each value, 12 (default) or 16 bytes. */
  ivLength?: 12 | 16;
  /** GCM only: where the 16-byte tag sits: after the ciphertext (default) or right after the IV. */
  tagPosition?: 'end' | 'after-iv';
  /** How each encrypted value is encoded: base64 (default) or hex. */
  encoding?: 'base64' | 'hex';
  /** Which fields are encrypted; default: every string value. */
  fields?: readonly string[];
}

export type DecryptResult =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; problems: { field: string; problem: string }[] };

const TAG_BYTES = 16;
const CFB_IV_BYTES = 16;
const KEY_BYTES: Record<EncryptionAlgorithm, number> = {
  'aes-128-gcm': 16,
  'aes-192-gcm': 24,
  'aes-256-gcm': 32,
  'aes-128-cfb': 16,
  'aes-192-cfb': 24,
  'aes-256-cfb': 32,
};
const isGcm = (alg: EncryptionAlgorithm): alg is CipherGCMTypes => alg.endsWith('-gcm');

const textEncoding = z.enum(['utf8', 'hex', 'base64']);

export const encryptionConfigSchema = z
  .strictObject({
    algorithm: z
      .string()
      .transform((s) => s.trim().toLowerCase())
      .pipe(
        z.enum(ENCRYPTION_ALGORITHMS, {
          error: (iss) => `must be one of ${ENCRYPTION_ALGORITHMS.join(', ')} (got ${JSON.stringify(iss.input)})`,
        }),
      ),
    key: z.string().min(1, 'must not be empty'),
    keyEncoding: textEncoding.optional(),
    iv: z.string().min(1, 'must not be empty (leave it out when the IV travels in each value)').optional(),
    ivEncoding: textEncoding.optional(),
    ivLength: z.union([z.literal(12), z.literal(16)], { error: 'must be 12 or 16' }).optional(),
    tagPosition: z.enum(['end', 'after-iv']).optional(),
    encoding: z.enum(['base64', 'hex']).optional(),
    fields: z.array(z.string().min(1)).readonly().optional(),
  })
  .superRefine((cfg, ctx) => {
    const want = KEY_BYTES[cfg.algorithm];
    const keyEncoding = cfg.keyEncoding ?? 'utf8';
    const key = decodeText(cfg.key, keyEncoding);
    if (!key) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: `is not valid ${keyEncoding}` });
    } else if (key.length !== want && cfg.key !== '') {
      // (An empty key already has its own message; "got 0" would only repeat it.)
      ctx.addIssue({
        code: 'custom',
        path: ['key'],
        message: `must be ${want} bytes for ${cfg.algorithm} (got ${key.length})${keyHint(cfg.key, keyEncoding, want)}`,
      });
    }
    if (!isGcm(cfg.algorithm)) {
      for (const name of ['ivLength', 'tagPosition'] as const) {
        if (cfg[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `only applies to GCM, not ${cfg.algorithm}` });
      }
    }
    if (cfg.iv !== undefined) {
      const ivEncoding = cfg.ivEncoding ?? keyEncoding;
      const iv = decodeText(cfg.iv, ivEncoding);
      if (!iv) ctx.addIssue({ code: 'custom', path: ['iv'], message: `is not valid ${ivEncoding}` });
      else if (isGcm(cfg.algorithm) ? iv.length < 12 || iv.length > 16 : iv.length !== CFB_IV_BYTES) {
        const need = isGcm(cfg.algorithm) ? '12 to 16' : String(CFB_IV_BYTES);
        ctx.addIssue({ code: 'custom', path: ['iv'], message: `must be ${need} bytes for ${cfg.algorithm} (got ${iv.length})` });
      }
    } else if (cfg.ivEncoding !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['ivEncoding'], message: 'only applies with a fixed iv' });
    }
  });

/** A key of the wrong length is most often a hex or base64 key read as text: say so. */
function keyHint(key: string, encoding: TextEncoding, want: number): string {
  if (encoding !== 'utf8') return '';
  if (decodeText(key, 'hex')?.length === want) return "; it looks like hex: set keyEncoding: 'hex'";
  if (decodeText(key, 'base64')?.length === want) return "; it looks like base64: set keyEncoding: 'base64'";
  return '';
}

/**
 * Strict decoding: Buffer.from silently skips bad hex/base64 characters, which would turn a
 * corrupt value into a wrong-but-plausible one. Returns undefined when `text` is not valid.
 */
function decodeText(text: string, encoding: TextEncoding): Buffer | undefined {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  if (encoding === 'hex') return /^(?:[0-9a-fA-F]{2})*$/.test(text) ? Buffer.from(text, 'hex') : undefined;
  // A base64 value in a GET query whose "+" was not percent-encoded arrives with a space
  // (form-decoding); a space is never base64, so putting the "+" back is unambiguous. The
  // URL-safe alphabet and missing padding are accepted for the same reason; line breaks
  // (openssl enc -a wraps at 64 columns) are dropped.
  const std = text.replace(/[\r\n]/g, '').replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  const body = std.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(body) || body.length % 4 === 1) return undefined;
  if (std.length !== body.length && std.length % 4 !== 0) return undefined;
  return Buffer.from(body, 'base64');
}

interface Prepared {
  algorithm: EncryptionAlgorithm;
  key: Buffer;
  fixedIv: Buffer | undefined;
  ivLength: number;
  tagAtEnd: boolean;
  encoding: 'base64' | 'hex';
  fields: ReadonlySet<string> | undefined;
}

function prepare(input: EncryptionConfig): Prepared {
  const parsed = encryptionConfigSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`callback encryption config is invalid:\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  const keyEncoding = cfg.keyEncoding ?? 'utf8';
  const fixedIv = cfg.iv === undefined ? undefined : decodeText(cfg.iv, cfg.ivEncoding ?? keyEncoding);
  return {
    algorithm: cfg.algorithm,
    key: decodeText(cfg.key, keyEncoding)!,
    fixedIv,
    ivLength: fixedIv ? 0 : isGcm(cfg.algorithm) ? (cfg.ivLength ?? 12) : CFB_IV_BYTES,
    tagAtEnd: cfg.tagPosition !== 'after-iv',
    encoding: cfg.encoding ?? 'base64',
    fields: cfg.fields ? new Set(cfg.fields) : undefined,
  };
}

// C0/C1 control characters other than tab and line breaks: CFB has no tag, so a wrong key
// yields random bytes that are sometimes valid UTF-8; real callback values never hold these.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** One value back to text, or the reason it cannot be. Never throws. */
function decryptOne(p: Prepared, value: string): { text: string } | { problem: string } {
  const bytes = decodeText(value, p.encoding);
  if (!bytes) return { problem: `is not valid ${p.encoding}` };
  const gcm = isGcm(p.algorithm);
  const need = p.ivLength + (gcm ? TAG_BYTES : 0);
  if (bytes.length < need) {
    const parts = [p.ivLength > 0 ? `a ${p.ivLength}-byte IV` : '', gcm ? `a ${TAG_BYTES}-byte GCM tag` : ''].filter(Boolean);
    return { problem: `is too short for ${p.algorithm}: ${bytes.length} bytes, but ${parts.join(' and ')} alone take ${need}` };
  }
  const iv = p.fixedIv ?? bytes.subarray(0, p.ivLength);
  const rest = bytes.subarray(p.ivLength);
  let plain: Buffer;
  try {
    if (gcm) {
      const tag = p.tagAtEnd ? rest.subarray(rest.length - TAG_BYTES) : rest.subarray(0, TAG_BYTES);
      const ct = p.tagAtEnd ? rest.subarray(0, rest.length - TAG_BYTES) : rest.subarray(TAG_BYTES);
      const decipher = createDecipheriv(p.algorithm as CipherGCMTypes, p.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      try {
        plain = Buffer.concat([decipher.update(ct), decipher.final()]);
      } catch {
        return { problem: "does not decrypt with the profile's key (GCM tag mismatch)" };
      }
    } else {
      const decipher = createDecipheriv(p.algorithm, p.key, iv);
      plain = Buffer.concat([decipher.update(rest), decipher.final()]);
    }
  } catch (err) {
    return { problem: `could not be decrypted (${(err as Error).message})` };
  }
  if (gcm) {
    // The tag proved the key and the bytes; only the text itself can still be wrong.
    return isUtf8(plain) ? { text: plain.toString('utf8') } : { problem: 'decrypts, but the result is not valid UTF-8' };
  }
  const text = isUtf8(plain) ? plain.toString('utf8') : undefined;
  if (text === undefined || CONTROL.test(text)) {
    return { problem: "does not decrypt with the profile's key (the result is not valid UTF-8 text)" };
  }
  return { text };
}

/**
 * Builds one profile's decryptor. The config is validated and the key decoded once, here
 * (a bad config throws a ConfigError at start-up); the returned function never throws.
 * It returns a new object with every key of the input, the configured fields decrypted;
 * non-string and empty values pass through as they are.
 *
 * @example
 * const decrypt = createDecryptor({ algorithm: 'aes-256-gcm', key: process.env.PROFILE_KEY! });
 * const r = decrypt({ status: 'q83v...', price: 0.001354 });
 * if (r.ok) r.fields.status; // 'Undelivered'
 * else r.problems; // [{ field: 'status', problem: "does not decrypt with the profile's key (GCM tag mismatch)" }]
 */
export function createDecryptor(cfg: EncryptionConfig): (fields: Record<string, unknown>) => DecryptResult {
  const p = prepare(cfg);
  return function decryptFields(fields) {
    const out: Record<string, unknown> = {};
    const problems: { field: string; problem: string }[] = [];
    for (const [name, value] of Object.entries(fields)) {
      let next = value;
      if (typeof value === 'string' && value !== '' && (!p.fields || p.fields.has(name))) {
        const r = decryptOne(p, value);
        if ('text' in r) next = r.text;
        else problems.push({ field: name, problem: r.problem });
      }
      // defineProperty, not assignment: a field named "__proto__" must stay a field.
      Object.defineProperty(out, name, { value: next, enumerable: true, writable: true, configurable: true });
    }
    return problems.length > 0 ? { ok: false, problems } : { ok: true, fields: out };
  };
}

/**
 * The inverse of the decryptor, in the same layout: for tests, and for operators making test
 * vectors to check a profile's settings against what Kaleyra sends. Not used on the request
 * path. A fresh random IV is used unless one is given (or the profile has a fixed one).
 * Throws on a bad config or an IV of the wrong length.
 *
 * @example
 * const cfg = { algorithm: 'aes-128-cfb', key: 'kaleyra-test-key' } as const;
 * encryptValue(cfg, 'Undelivered'); // base64(16-byte IV ‖ ciphertext)
 * createDecryptor(cfg)({ status: encryptValue(cfg, 'Undelivered') }); // { ok: true, fields: { status: 'Undelivered' } }
 */
export function encryptValue(cfg: EncryptionConfig, plaintext: string, iv?: Buffer): string {
  const p = prepare(cfg);
  if (p.fixedIv && iv && !iv.equals(p.fixedIv)) {
    throw new Error('this profile has a fixed iv; a value encrypted with another IV could not be decrypted');
  }
  const useIv = p.fixedIv ?? iv ?? randomBytes(p.ivLength);
  if (!p.fixedIv && useIv.length !== p.ivLength) {
    throw new Error(`the IV must be ${p.ivLength} bytes for ${p.algorithm} (got ${useIv.length})`);
  }
  const prefix = p.fixedIv ? Buffer.alloc(0) : useIv;
  let body: Buffer;
  if (isGcm(p.algorithm)) {
    const cipher = createCipheriv(p.algorithm, p.key, useIv, { authTagLength: TAG_BYTES });
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    body = p.tagAtEnd ? Buffer.concat([ct, tag]) : Buffer.concat([tag, ct]);
  } else {
    const cipher = createCipheriv(p.algorithm, p.key, useIv);
    body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  }
  return Buffer.concat([prefix, body]).toString(p.encoding);
}
