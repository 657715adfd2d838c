import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { postSample } from '../testing/samples.js';
import { fieldsFromQuery } from './parse.js';
import {
  createDecryptor,
  ENCRYPTION_ALGORITHMS,
  encryptionConfigSchema,
  encryptValue,
  type DecryptResult,
  type EncryptionAlgorithm,
  type EncryptionConfig,
} from './decrypt.js';

// The provider's sample delivery report: these values are the plaintexts throughout.
const SAMPLE = postSample();
const SAMPLE_TEXT = {
  sender: 'TEST',
  recipient: '919620838XXX',
  status: 'Undelivered',
  status_trace: 'REJECTED-MULTIPART',
  message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
  description: 'Validation fail [SMS over 160 characters]',
  price: '0.001354',
} as const;

const KEY_BYTES = { 128: 16, 192: 24, 256: 32 } as const;
const bytes = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));
const keyFor = (alg: EncryptionAlgorithm) => bytes(KEY_BYTES[Number(alg.split('-')[1]) as 128 | 192 | 256]);
const gcm = (alg: EncryptionAlgorithm) => alg.endsWith('-gcm');

/**
 * The layout written out independently of the module, straight on node:crypto:
 * GCM base64(12-byte IV ‖ ciphertext ‖ 16-byte tag), CFB base64(16-byte IV ‖ ciphertext).
 */
function referenceEncrypt(alg: EncryptionAlgorithm, key: Buffer, iv: Buffer, text: string): string {
  if (gcm(alg)) {
    const c = createCipheriv(alg as CipherGCMTypes, key, iv, { authTagLength: 16 });
    const ct = Buffer.concat([c.update(text, 'utf8'), c.final()]);
    return Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64');
  }
  const c = createCipheriv(alg, key, iv);
  return Buffer.concat([iv, c.update(text, 'utf8'), c.final()]).toString('base64');
}

function referenceDecrypt(alg: EncryptionAlgorithm, key: Buffer, value: string): string {
  const raw = Buffer.from(value, 'base64');
  if (gcm(alg)) {
    const d = createDecipheriv(alg as CipherGCMTypes, key, raw.subarray(0, 12), { authTagLength: 16 });
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  }
  const d = createDecipheriv(alg, key, raw.subarray(0, 16));
  return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString('utf8');
}

/** Every non-empty string value of `fields` encrypted, as a profile with encryption on sends them. */
function encryptAll(fields: Record<string, unknown>, enc: (text: string, i: number) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v], i) => [k, typeof v === 'string' && v !== '' ? enc(v, i) : v]));
}

function decrypted(result: DecryptResult): Record<string, unknown> {
  if (!result.ok) throw new Error(`expected the fields to decrypt: ${JSON.stringify(result.problems)}`);
  return result.fields;
}

function problems(result: DecryptResult): { field: string; problem: string }[] {
  if (result.ok) throw new Error('expected the fields not to decrypt');
  return result.problems;
}

const hexConfig = (alg: EncryptionAlgorithm, over: Partial<EncryptionConfig> = {}): EncryptionConfig => ({
  algorithm: alg,
  key: keyFor(alg).toString('hex'),
  keyEncoding: 'hex',
  ...over,
});

describe('createDecryptor', () => {
  describe.each(ENCRYPTION_ALGORITHMS)('%s', (alg) => {
    const key = keyFor(alg);
    const cfg = hexConfig(alg);
    const ivBytes = gcm(alg) ? 12 : 16;

    it("decrypts the provider's sample callback, every string value encrypted with its own IV", () => {
      const sent = encryptAll(SAMPLE, (text, i) => referenceEncrypt(alg, key, bytes(ivBytes, 0x40 + i), text));
      expect(sent.status).not.toBe('Undelivered');
      const fields = decrypted(createDecryptor(cfg)(sent));
      expect(fields).toEqual(SAMPLE);
      expect(fields).toMatchObject(SAMPLE_TEXT);
    });

    it('encryptValue writes the same layout that node:crypto reads back', () => {
      for (const text of Object.values(SAMPLE_TEXT)) {
        const iv = bytes(ivBytes, 0x90);
        const value = encryptValue(cfg, text, iv);
        expect(value).toBe(referenceEncrypt(alg, key, iv, text));
        expect(referenceDecrypt(alg, key, value)).toBe(text);
        // A random IV each time: two encryptions of one text differ, and both decrypt.
        expect(encryptValue(cfg, text)).not.toBe(encryptValue(cfg, text));
        expect(decrypted(createDecryptor(cfg)({ v: encryptValue(cfg, text) })).v).toBe(text);
      }
    });

    it('reads hex-encoded values when the profile says so', () => {
      const hexValue = Buffer.from(referenceEncrypt(alg, key, bytes(ivBytes, 7), SAMPLE_TEXT.status), 'base64').toString('hex');
      expect(decrypted(createDecryptor({ ...cfg, encoding: 'hex' })({ status: hexValue })).status).toBe('Undelivered');
    });

    it('names the field whose value was encrypted with another key', () => {
      const other = bytes(key.length, 0xa0);
      const sent = { description: referenceEncrypt(alg, other, bytes(ivBytes, 1), SAMPLE_TEXT.description), sender: 'unused' };
      const found = problems(createDecryptor({ ...cfg, fields: ['description'] })(sent));
      expect(found).toEqual([
        {
          field: 'description',
          problem: gcm(alg)
            ? "does not decrypt with the profile's key (GCM tag mismatch)"
            : "does not decrypt with the profile's key (the result is not valid UTF-8 text)",
        },
      ]);
    });
  });

  it('reads the key as text by default: a 16-character key for AES-128', () => {
    const cfg: EncryptionConfig = { algorithm: 'aes-128-gcm', key: 'kaleyra-test-key' };
    const value = referenceEncrypt('aes-128-gcm', Buffer.from('kaleyra-test-key'), bytes(12), 'Undelivered');
    expect(decrypted(createDecryptor(cfg)({ status: value })).status).toBe('Undelivered');
  });

  it('reads a base64 key', () => {
    const key = keyFor('aes-256-gcm');
    const cfg: EncryptionConfig = { algorithm: 'aes-256-gcm', key: key.toString('base64'), keyEncoding: 'base64' };
    const value = referenceEncrypt('aes-256-gcm', key, bytes(12), 'TEST');
    expect(decrypted(createDecryptor(cfg)({ sender: value })).sender).toBe('TEST');
  });

  describe('vectors made with the openssl command line', () => {
    const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
    const IV_HEX = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf';

    it('decrypts an aes-256-cfb value whose IV travels in front', () => {
      // printf %s 'Validation fail [SMS over 160 characters]' \
      //   | openssl enc -aes-256-cfb -K 000102…1e1f -iv a0a1…aeaf | xxd -p      (OpenSSL 3.0.19)
      const CT_HEX = '8afe6d9412d908646025c8e36a6280c00fee85a5a746ec2560211589beac09c8a36520e4c044b51e1a';
      const value = Buffer.from(IV_HEX + CT_HEX, 'hex').toString('base64');
      const cfg: EncryptionConfig = { algorithm: 'aes-256-cfb', key: KEY_HEX, keyEncoding: 'hex' };
      expect(decrypted(createDecryptor(cfg)({ description: value })).description).toBe(SAMPLE_TEXT.description);
    });

    it("takes openssl's base64 output as is when the profile has a fixed IV", () => {
      // printf %s 'Validation fail [SMS over 160 characters]' \
      //   | openssl enc -aes-256-cfb -K 000102…1e1f -iv a0a1…aeaf -a -A
      const value = 'iv5tlBLZCGRgJcjjamKAwA/uhaWnRuwlYCEVib6sCcijZSDkwES1Hho=';
      const cfg: EncryptionConfig = { algorithm: 'aes-256-cfb', key: KEY_HEX, keyEncoding: 'hex', iv: IV_HEX };
      expect(decrypted(createDecryptor(cfg)({ description: value })).description).toBe(SAMPLE_TEXT.description);
      expect(encryptValue(cfg, SAMPLE_TEXT.description)).toBe(value);
    });

    it('decrypts an aes-128-cfb value with a text key (16 characters) and a fixed IV', () => {
      // printf %s '919620838XXX' | openssl enc -aes-128-cfb \
      //   -K "$(printf %s kaleyra-test-key | xxd -p)" -iv a0a1…aeaf -a -A
      const cfg: EncryptionConfig = { algorithm: 'aes-128-cfb', key: 'kaleyra-test-key', iv: IV_HEX, ivEncoding: 'hex' };
      expect(decrypted(createDecryptor(cfg)({ recipient: 'H/d116dM9fepYAes' })).recipient).toBe('919620838XXX');
    });

    // openssl is on every machine this project runs on (Debian's base image); a missing one fails.
    it.each(['aes-128-cfb', 'aes-192-cfb', 'aes-256-cfb'] as const)(
      'decrypts what this machine\'s openssl enc -%s makes from every sample value',
      (alg) => {
        const keyHex = keyFor(alg).toString('hex');
        const cfg: EncryptionConfig = { algorithm: alg, key: keyHex, keyEncoding: 'hex' };
        for (const text of Object.values(SAMPLE_TEXT)) {
          const ct = execFileSync('openssl', ['enc', `-${alg}`, '-K', keyHex, '-iv', IV_HEX], { input: text });
          const value = Buffer.concat([Buffer.from(IV_HEX, 'hex'), ct]).toString('base64');
          expect(decrypted(createDecryptor(cfg)({ v: value })).v).toBe(text);
        }
      },
    );
  });

  describe('GCM', () => {
    const alg = 'aes-256-gcm';
    const key = keyFor(alg);
    const cfg = hexConfig(alg);

    it('refuses a value whose tag was altered', () => {
      const raw = Buffer.from(referenceEncrypt(alg, key, bytes(12), 'Undelivered'), 'base64');
      raw[raw.length - 1]! ^= 0x01;
      expect(problems(createDecryptor(cfg)({ status: raw.toString('base64') }))).toEqual([
        { field: 'status', problem: "does not decrypt with the profile's key (GCM tag mismatch)" },
      ]);
    });

    it('refuses a value whose ciphertext was altered', () => {
      const raw = Buffer.from(referenceEncrypt(alg, key, bytes(12), 'Undelivered'), 'base64');
      raw[12]! ^= 0x01;
      expect(problems(createDecryptor(cfg)({ status: raw.toString('base64') }))[0]?.problem).toContain('GCM tag mismatch');
    });

    it('reads a 16-byte IV and a tag right after it when the profile says so', () => {
      const iv = bytes(16, 3);
      const c = createCipheriv(alg, key, iv, { authTagLength: 16 });
      const ct = Buffer.concat([c.update('Undelivered'), c.final()]);
      const value = Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
      const custom = { ...cfg, ivLength: 16, tagPosition: 'after-iv' } as const;
      expect(decrypted(createDecryptor(custom)({ status: value })).status).toBe('Undelivered');
      expect(encryptValue(custom, 'Undelivered', iv)).toBe(value);
      expect(problems(createDecryptor(cfg)({ status: value }))[0]?.problem).toContain('GCM tag mismatch');
    });

    it('uses a fixed IV from the profile: the value is ciphertext ‖ tag', () => {
      const iv = bytes(12, 0x55);
      const c = createCipheriv(alg, key, iv, { authTagLength: 16 });
      const value = Buffer.concat([c.update('REJECTED-MULTIPART'), c.final(), c.getAuthTag()]).toString('base64');
      const fixed = { ...cfg, iv: iv.toString('hex') };
      expect(decrypted(createDecryptor(fixed)({ status_trace: value })).status_trace).toBe('REJECTED-MULTIPART');
    });
  });

  describe('values that cannot be decrypted', () => {
    const cfg = hexConfig('aes-256-gcm');
    const decrypt = createDecryptor(cfg);

    it.each([
      ['garbage base64', 'not base64 at all!', 'is not valid base64'],
      ['base64 with a stray character', 'YWJj*ZGVm', 'is not valid base64'],
      ['a lone base64 character past a full group', 'YWJjZ', 'is not valid base64'],
      ['too short for the IV and the tag', Buffer.alloc(20).toString('base64'), 'is too short for aes-256-gcm: 20 bytes, but a 12-byte IV and a 16-byte GCM tag alone take 28'],
    ])('%s gives a problem naming the field', (_, value, problem) => {
      expect(problems(decrypt({ status: value, flash: 0 }))).toEqual([{ field: 'status', problem }]);
    });

    it('an odd hex value is not hex', () => {
      expect(problems(createDecryptor({ ...cfg, encoding: 'hex' })({ price: 'abc' }))).toEqual([{ field: 'price', problem: 'is not valid hex' }]);
    });

    it('an authentic value that is not UTF-8 is refused', () => {
      const value = (() => {
        const c = createCipheriv('aes-256-gcm', keyFor('aes-256-gcm'), bytes(12), { authTagLength: 16 });
        return Buffer.concat([bytes(12), c.update(Buffer.from([0xff, 0xfe])), c.final(), c.getAuthTag()]).toString('base64');
      })();
      expect(problems(decrypt({ ref: value }))).toEqual([{ field: 'ref', problem: 'decrypts, but the result is not valid UTF-8' }]);
    });

    it('a CFB value too short for its IV is refused', () => {
      const cfb = createDecryptor(hexConfig('aes-128-cfb'));
      expect(problems(cfb({ status: Buffer.alloc(10).toString('base64') }))[0]?.problem).toBe(
        'is too short for aes-128-cfb: 10 bytes, but a 16-byte IV alone take 16',
      );
    });

    it('reports every failing field at once and never throws', () => {
      const found = problems(decrypt({ ...SAMPLE, status: '%%%', description: 'plain text, not encrypted' }));
      expect(found.map((p) => p.field)).toEqual(expect.arrayContaining(['status', 'description', 'sender', 'recipient']));
    });
  });

  describe('which values are touched', () => {
    const alg = 'aes-256-gcm';
    const key = keyFor(alg);
    const cfg = hexConfig(alg);
    const enc = (text: string) => referenceEncrypt(alg, key, bytes(12, 9), text);

    it('with `fields` set, decrypts only those and leaves the others as they came, even base64-looking ones', () => {
      const sent = { ...SAMPLE, status: enc('Undelivered'), recipient: enc('919620838XXX'), ref: 'QUJDRA==' };
      const fields = decrypted(createDecryptor({ ...cfg, fields: ['status', 'recipient', 'absent_field'] })(sent));
      expect(fields).toEqual({ ...SAMPLE, ref: 'QUJDRA==' });
    });

    it('passes numbers, booleans, null, nested objects and empty strings through unchanged', () => {
      const sent = { flash: 0, total: 1, ok: true, none: null, nested: { a: 'x' }, ref: '', status: enc('Undelivered') };
      expect(decrypted(createDecryptor(cfg)(sent))).toEqual({ ...sent, status: 'Undelivered' });
    });

    it('returns a new object and leaves the input alone', () => {
      const sent = { status: enc('Undelivered') };
      const copy = { ...sent };
      const fields = decrypted(createDecryptor(cfg)(sent));
      expect(fields).not.toBe(sent);
      expect(sent).toEqual(copy);
    });

    it('keeps fields named like Object.prototype members, "__proto__" included', () => {
      const body = `{"__proto__":"${enc('TEST')}","constructor":"${enc('Undelivered')}","toString":"${enc('0.001354')}","hasOwnProperty":7}`;
      const fields = decrypted(createDecryptor(cfg)(JSON.parse(body) as Record<string, unknown>));
      expect(Object.keys(fields)).toEqual(['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
      expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('TEST');
      expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
      expect(fields.constructor).toBe('Undelivered');
      expect(fields.toString).toBe('0.001354');
      expect(fields.hasOwnProperty).toBe(7);
    });

    it('decrypts a GET value whose unescaped "+" form-decoding turned into a space', () => {
      // An IV starting 0xf8 makes the base64 start with "+".
      const value = referenceEncrypt(alg, key, Buffer.concat([Buffer.from([0xf8]), bytes(11)]), 'Undelivered');
      expect(value.startsWith('+')).toBe(true);
      const fromQuery = fieldsFromQuery(`status=${value}`).status!;
      expect(fromQuery.startsWith(' ')).toBe(true);
      expect(decrypted(createDecryptor(cfg)({ status: fromQuery })).status).toBe('Undelivered');
    });

    it('reads the URL-safe base64 alphabet and values without padding', () => {
      const value = referenceEncrypt(alg, key, Buffer.concat([Buffer.from([0xfb, 0xff]), bytes(10)]), 'Undelivered');
      const urlSafe = value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      expect(urlSafe).not.toBe(value);
      expect(decrypted(createDecryptor(cfg)({ status: urlSafe })).status).toBe('Undelivered');
    });
  });
});

describe('encryptionConfigSchema', () => {
  const messages = (input: unknown) => {
    const r = encryptionConfigSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it.each([
    ['aes-256-gcm', 31, 'key: must be 32 bytes for aes-256-gcm (got 31)'],
    ['aes-128-cfb', 24, 'key: must be 16 bytes for aes-128-cfb (got 24)'],
    ['aes-192-gcm', 16, 'key: must be 24 bytes for aes-192-gcm (got 16)'],
  ] as const)('rejects a %s key of %i bytes', (algorithm, n, message) => {
    expect(messages({ algorithm, key: bytes(n).toString('hex'), keyEncoding: 'hex' })).toEqual([message]);
  });

  it('rejects an empty key', () => {
    expect(messages({ algorithm: 'aes-256-gcm', key: '' })).toEqual(['key: must not be empty']);
  });

  it('rejects an algorithm the provider does not offer, listing the ones it does', () => {
    const [message] = messages({ algorithm: 'aes-256-cbc', key: 'k'.repeat(32) });
    expect(message).toBe('algorithm: must be one of aes-128-gcm, aes-192-gcm, aes-256-gcm, aes-128-cfb, aes-192-cfb, aes-256-cfb (got "aes-256-cbc")');
  });

  it("accepts the page's upper-case spelling and reads it as OpenSSL's name", () => {
    expect(encryptionConfigSchema.parse({ algorithm: 'AES-256-GCM', key: 'k'.repeat(32) }).algorithm).toBe('aes-256-gcm');
  });

  it('hints at the encoding when a text key has the right length as hex or base64', () => {
    expect(messages({ algorithm: 'aes-256-gcm', key: bytes(32).toString('hex') })).toEqual([
      "key: must be 32 bytes for aes-256-gcm (got 64); it looks like hex: set keyEncoding: 'hex'",
    ]);
    expect(messages({ algorithm: 'aes-128-gcm', key: bytes(16).toString('base64') })[0]).toContain("set keyEncoding: 'base64'");
  });

  it.each([
    [{ algorithm: 'aes-128-gcm', key: 'zz'.repeat(16), keyEncoding: 'hex' }, 'key: is not valid hex'],
    [{ algorithm: 'aes-128-gcm', key: 'k'.repeat(16), colour: 'blue' }, ': Unrecognized key: "colour"'],
    [{ algorithm: 'aes-128-cfb', key: 'k'.repeat(16), ivLength: 12 }, 'ivLength: only applies to GCM, not aes-128-cfb'],
    [{ algorithm: 'aes-128-gcm', key: 'k'.repeat(16), ivLength: 8 }, 'ivLength: must be 12 or 16'],
    [{ algorithm: 'aes-128-cfb', key: 'k'.repeat(16), iv: 'short' }, 'iv: must be 16 bytes for aes-128-cfb (got 5)'],
    [{ algorithm: 'aes-128-gcm', key: 'k'.repeat(16), ivEncoding: 'hex' }, 'ivEncoding: only applies with a fixed iv'],
    [{ algorithm: 'aes-128-gcm', key: 'k'.repeat(16), encoding: 'binary' }, 'encoding'],
  ])('rejects %j', (input, message) => {
    expect(messages(input).join('\n')).toContain(message);
  });

  it('createDecryptor refuses a bad config at start-up with a ConfigError naming the field', () => {
    const bad = { algorithm: 'aes-256-gcm', key: 'x'.repeat(31) } as EncryptionConfig;
    expect(() => createDecryptor(bad)).toThrow(ConfigError);
    expect(() => createDecryptor(bad)).toThrow('key: must be 32 bytes for aes-256-gcm (got 31)');
  });
});

describe('encryptValue', () => {
  it('refuses an IV of the wrong length', () => {
    expect(() => encryptValue(hexConfig('aes-256-gcm'), 'TEST', bytes(16))).toThrow('the IV must be 12 bytes for aes-256-gcm (got 16)');
  });

  it('refuses another IV when the profile has a fixed one', () => {
    const cfg = hexConfig('aes-128-cfb', { iv: bytes(16).toString('hex') });
    expect(() => encryptValue(cfg, 'TEST', bytes(16, 1))).toThrow('fixed iv');
  });
});
