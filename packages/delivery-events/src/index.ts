/**
 * @kaleyra-callback-router/delivery-events: the delivery event contract the router emits, for
 * the services that consume it (from Kafka or from signed webhooks).
 */
export { STATUS_CLASSES, TRACE_GROUPS, type StatusClass, type TraceGroup } from './vocabulary.js';
export { DeliveryEventSchema, EVENT_SCHEMA_VERSION, EVENT_TYPE_PREFIX, deliveryEventJsonSchema, type DeliveryEvent } from './event.js';
export {
  consumeDeliveryEvents,
  formatEventLine,
  parseDeliveryEvent,
  type ConsumeOptions,
  type DeliveryConsumer,
  type EventMeta,
} from './consumer.js';
export { DeliveryWebhookSchema, WebhookVerificationError, verifyWebhook, type DeliveryWebhook, type WebhookHeaders } from './webhook.js';
