/**
 * The consumer helper `kcr tail` uses: the one downstream teams install with the contract
 * (@kaleyra-callback-router/delivery-events), re-exported so there is one copy.
 */
export {
  consumeDeliveryEvents,
  formatEventLine,
  parseDeliveryEvent,
  type ConsumeOptions,
  type DeliveryConsumer,
  type EventMeta,
} from '@kaleyra-callback-router/delivery-events';
