/** `kcr tail`: delivery events from Kafka topics as readable lines, until interrupted. */
import { consumeDeliveryEvents, formatEventLine } from '../../consume/consumer.js';
import { securityOptions } from '../../kafka/client-config.js';
import { UsageError, type Command } from '../command.js';

export const tail: Command = {
  name: 'tail',
  summary: 'print delivery events from Kafka as readable lines',
  positional: { name: '<topic...>', many: true },
  options: [
    { flag: 'brokers', type: 'string', value: 'h:p[,h:p]', help: 'the Kafka brokers (default KAFKA_BROKERS)' },
    { flag: 'from-beginning', type: 'boolean', help: 'start at the oldest message, not the newest' },
    { flag: 'json', type: 'boolean', help: 'print each event as JSON' },
    { flag: 'group', type: 'string', value: 'ID', help: 'the consumer group (default a new one per run)' },
  ],
  async run({ values, positionals: topics }, ctx) {
    const brokers = String(values.brokers ?? ctx.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
    if (brokers.length === 0 || topics.length === 0) throw new UsageError('tail needs a topic and --brokers (or KAFKA_BROKERS)');
    const consumer = await consumeDeliveryEvents({
      brokers,
      groupId: typeof values.group === 'string' ? values.group : `kcr-tail-${process.pid}-${Date.now()}`,
      topics,
      // SASL and TLS as the router's (KAFKA_SASL_*, KAFKA_TLS*).
      kafka: securityOptions(ctx.settings().kafka),
      fromBeginning: values['from-beginning'] === true,
      onEvent: (e, meta) => ctx.out(values.json ? JSON.stringify(e) : `${meta.topic}[${meta.partition}]@${meta.offset} ${formatEventLine(e)}`),
      onInvalid: (_err, meta, value) => ctx.out(`${meta.topic}[${meta.partition}]@${meta.offset} NOT A DELIVERY EVENT: ${value.slice(0, 200)}`),
    });
    await ctx.interrupted();
    await consumer.stop();
    return 0;
  },
};
