/**
 * The edge in cluster mode: where an accepted callback goes before its 2xx. Callbacks that
 * arrive together are produced to the intake topic in one batch (acks=all, keyed by message).
 * When Kafka does not acknowledge within the bound, or fails, they are committed to the local
 * spool instead, and the spool's dispatcher forwards them to the intake topic later, in order
 * (a "cluster:intake" destination that never gives up). While that backlog drains, new
 * callbacks join it, so no later report overtakes an earlier one from this replica.
 *
 * A produce that timed out is in doubt (it may still land), so the forwarded copy can be a
 * second intake record of the same callback: harmless, since its event id is made from the
 * report and the partition's owner recognises it as a resend.
 */
import type { Message } from 'kafkajs';
import type { KafkaConnection } from '../destinations/kafka-connection.js';
import { kafkaRecord } from '../destinations/kafka-record.js';
import { errorMessage } from '../errors.js';
import type { DeliveryEvent } from '../event.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RouteMatch } from '../route/match.js';
import type { TraceContext } from '../trace/context.js';
import type { AcceptResult } from '../spool/spool.js';
import { sleep } from '../sleep.js';

/** The pause between two tries of an intake produce within its deadline. */
const RETRY_PAUSE_MS = 250;

/** The ref of the spool destination that forwards the fallback backlog to the intake topic. */
export const INTAKE_REF = 'cluster:intake';

/** The fallback spool's plan: everything in it goes to the intake topic. */
export const FORWARD_PLAN = (): RouteMatch => ({ destinations: [INTAKE_REF], rules: [], fallback: false });

export interface EdgeDeps {
  conn: KafkaConnection;
  topic: string;
  /** The fallback: the local spool's group commit (its plan sends everything to INTAKE_REF). */
  spool: {
    commits: { accept(event: DeliveryEvent, trace?: TraceContext): Promise<AcceptResult> };
    queue: { nextDueAt(destination: string): number | null };
  };
  ackTimeoutMs: number;
  /** Whether the cluster topics exist yet; until they do, callbacks go to the spool. */
  ready: () => boolean;
  /** The rules an event matches, for the edge's counters only (the owner routes). */
  plan: (event: DeliveryEvent) => RouteMatch;
  logger: Logger;
  metrics: Metrics;
}

interface Waiting {
  event: DeliveryEvent;
  /** The callback's trace context, given at accept; none: the event starts a trace of its own. */
  trace: TraceContext | undefined;
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
}

export class ClusterEdge {
  private waiting: Waiting[] = [];
  private scheduled = false;
  /** Callbacks go to the local spool while it holds a backlog for the intake topic. */
  private spooling: boolean;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: EdgeDeps) {
    this.spooling = deps.spool.queue.nextDueAt(INTAKE_REF) !== null;
    this.timer = setInterval(() => this.checkBacklog(), 500);
    this.timer.unref();
  }

  /** Whether callbacks go to the local spool now (Kafka did not ack, and the backlog has not drained). */
  get fallingBack(): boolean {
    return this.spooling;
  }

  /** Resolves once the callback is in the intake topic (acks=all) or in the local spool. */
  accept(event: DeliveryEvent, trace?: TraceContext): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, trace, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    // Before the topics exist, callbacks join the spool's backlog too, and later ones queue behind it.
    if (!this.deps.ready()) this.spooling = true;
    if (this.spooling) return this.toSpool(batch);
    const { logger, metrics } = this.deps;
    const messages = batch.map(({ event, trace }) => kafkaRecord({ eventId: event.event_id, messageKey: event.message_key, type: event.type, body: JSON.stringify(event), trace }));
    try {
      await this.produce(messages, Date.now() + this.deps.ackTimeoutMs);
    } catch (err) {
      if (!this.spooling) logger.warn('intake topic unavailable: callbacks go to the local spool and are forwarded later', { error: errorMessage(err) });
      this.spooling = true;
      metrics.inc('cluster_intake_fallbacks_total');
      return this.toSpool(batch);
    }
    metrics.inc('cluster_intake_records_total', {}, batch.length);
    for (const w of batch) w.resolve({ eventId: w.event.event_id, duplicate: null, stale: null, route: this.deps.plan(w.event) });
  }

  /**
   * Produces until acknowledged or the deadline passes. A failure before the deadline (a leader
   * that died: refused connections until the cluster elects another) is tried again with a new
   * producer, so a broker failover is waited out rather than sent to the spool.
   */
  private async produce(messages: Message[], deadline: number): Promise<void> {
    const { conn, topic } = this.deps;
    for (;;) {
      const left = deadline - Date.now();
      const timeout = sleep(Math.max(0, left), { unref: true }).then(() => {
        throw new Error(`the intake topic did not acknowledge within ${this.deps.ackTimeoutMs} ms`);
      });
      try {
        await Promise.race([conn.getProducer().then((p) => p.send({ topic, acks: -1, timeout: Math.max(100, left), messages })), timeout]);
        return;
      } catch (err) {
        void conn.reset(errorMessage(err));
        if (deadline - Date.now() < RETRY_PAUSE_MS) throw err;
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  private toSpool(batch: Waiting[]): void {
    for (const w of batch) {
      this.deps.spool.commits.accept(w.event, w.trace).then(
        // A resend the spool saw is one; anything else the owner decides later.
        // The spool's own route is the forward to the intake; the callback's rules are the config's.
        (r) => w.resolve({ ...r, duplicate: r.duplicate ? true : null, stale: null, route: this.deps.plan(w.event) }),
        w.reject,
      );
    }
  }

  private checkBacklog(): void {
    if (!this.spooling) return;
    try {
      if (this.deps.spool.queue.nextDueAt(INTAKE_REF) === null) {
        this.spooling = false;
        this.deps.logger.info('intake topic reachable again: the local backlog is forwarded');
      }
    } catch (err) {
      this.deps.logger.warn('fallback backlog check failed', { error: errorMessage(err) });
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
