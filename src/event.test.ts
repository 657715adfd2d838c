import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliveryEventJsonSchema } from './event.js';

describe('the published JSON Schema', () => {
  it('is the one generated from the zod schema (run `npm run schema` after changing the event)', () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'schema', 'delivery-event.schema.json'), 'utf8'));
    expect(committed).toEqual(deliveryEventJsonSchema());
  });

  it('requires every field, so consumers in any language can rely on them', () => {
    const schema = deliveryEventJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required.sort()).toEqual(Object.keys(schema.properties).sort());
  });
});
