/**
 * The delivery event, as the router emits it. The contract itself lives in the workspace package
 * @kaleyra-callback-router/delivery-events, which downstream teams install; this re-export keeps
 * one source of truth while the router's modules import it from here.
 */
export {
  DeliveryEventSchema,
  EVENT_SCHEMA_VERSION,
  EVENT_TYPE_PREFIX,
  deliveryEventJsonSchema,
  type DeliveryEvent,
} from '@kaleyra-callback-router/delivery-events';
