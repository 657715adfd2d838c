/**
 * The destination kinds, one line each. A new kind is one file exporting a `DestinationKind`
 * plus one line here (and its typed section in define-routes.ts, for the compiler's checks).
 */
import { kafkaKind } from './kafka.js';
import type { DestinationKind } from './types.js';
import { webhookKind } from './webhook.js';

export const DESTINATION_KINDS: readonly DestinationKind[] = [
  kafkaKind,
  webhookKind,
];

/**
 * The kind a ref names by its prefix, or undefined.
 * @example destinationKind('kafka:events')?.noun === 'Kafka topic'
 */
export function destinationKind(ref: string): DestinationKind | undefined {
  const prefix = ref.split(':', 1)[0];
  return DESTINATION_KINDS.find((k) => k.prefix === prefix);
}
