import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uuidFromName, uuidv7 } from '../enrich/ids.js';
import { decodeStoredId, encodeStoredId } from './stored-id.js';

describe('an event id as message_state keeps it', () => {
  it('keeps a UUID in its canonical text (every id the router makes) as its 16 bytes, and gives the text back', () => {
    for (const id of [uuidFromName('kaleyra:resend-key'), uuidv7(), randomUUID(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-8fff-bfff-ffffffffffff']) {
      const stored = encodeStoredId(id);
      expect(stored).toBeInstanceOf(Buffer);
      expect((stored as Buffer).length).toBe(16);
      expect(decodeStoredId(stored)).toBe(id);
    }
  });

  it('keeps any other id as its text, so it reads back exactly (upper case, braces, short ids)', () => {
    for (const id of ['3F6C1D2E-8A4B-8C5D-9E7F-0A1B2C3D4E5F', '{3f6c1d2e-8a4b-8c5d-9e7f-0a1b2c3d4e5f}', '3f6c1d2e8a4b8c5d9e7f0a1b2c3d4e5f', 'e', '']) {
      expect(encodeStoredId(id)).toBe(id);
      expect(decodeStoredId(encodeStoredId(id))).toBe(id);
    }
  });
});
