import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeliveryEventSchema, EVENT_SCHEMA_VERSION, deliveryEventJsonSchema } from '../src/event.js';
import { STATUS_CLASSES, TRACE_GROUPS } from '../src/vocabulary.js';
import { sampleEvent } from './sample-event.js';

const packageDir = join(import.meta.dirname, '..');

describe('the published JSON Schema', () => {
  it('is the one generated from the zod schema (run `npm run schema` after changing the event)', () => {
    const committed = JSON.parse(readFileSync(join(packageDir, 'schema', 'delivery-event.schema.json'), 'utf8'));
    expect(committed).toEqual(deliveryEventJsonSchema());
  });

  it('requires every field, so consumers in any language can rely on them', () => {
    const schema = deliveryEventJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required.sort()).toEqual(Object.keys(schema.properties).sort());
  });

  it('is what the package exports as delivery-event.schema.json, and the package ships it', () => {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports['./delivery-event.schema.json']).toBe('./schema/delivery-event.schema.json');
    expect(pkg.files).toContain('schema');
  });
});

describe('the package version', () => {
  it('has the schema version as its major, so a breaking event change is a major release', () => {
    const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
    expect(version.split('.')[0]).toBe(String(EVENT_SCHEMA_VERSION));
  });
});

describe('the event schema', () => {
  it("accepts the event the router makes from Kaleyra's POST sample", () => {
    expect(DeliveryEventSchema.parse(sampleEvent())).toEqual(sampleEvent());
  });

  it('closes status_class and status_trace_group over the package vocabularies', () => {
    for (const status_class of STATUS_CLASSES) expect(DeliveryEventSchema.safeParse(sampleEvent({ status_class })).success).toBe(true);
    for (const status_trace_group of [...TRACE_GROUPS, null]) expect(DeliveryEventSchema.safeParse(sampleEvent({ status_trace_group })).success).toBe(true);
    expect(DeliveryEventSchema.safeParse({ ...sampleEvent(), status_class: 'sent' }).success).toBe(false);
    expect(DeliveryEventSchema.safeParse({ ...sampleEvent(), status_trace_group: 'blocked' }).success).toBe(false);
  });

  it('rejects an event of another schema version', () => {
    expect(DeliveryEventSchema.safeParse({ ...sampleEvent(), schema_version: 1 }).success).toBe(false);
  });
});
