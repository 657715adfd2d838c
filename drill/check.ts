/**
 * The drill's verdict: every callback answered 2xx must be in Kafka once and at the webhook at
 * least once, and a late `Sent` must come out stale while a `Delivered` must not.
 */
import type { Received } from '../src/testing/receiver.js';
import type { Accepted } from './load.js';
import type { OutputRecord } from './output.js';

export interface Tally {
  /** Distinct event ids answered 2xx. */
  accepted: number;
  /** Accepted ids with no record in the output topic. */
  lostInKafka: string[];
  /** Accepted ids the webhook receiver never got. */
  lostAtWebhook: string[];
  /** Records in the topic beyond one per event id. */
  duplicates: number;
  /** Event ids whose record has the wrong stale flag (a Sent not stale, a Delivered stale). */
  staleWrong: string[];
  /** Event ids in the topic that no 2xx answer named (a callback given up on, yet processed). */
  unanswered: string[];
  /** Webhook requests beyond one per event id (allowed: webhooks are at least once). */
  webhookRepeats: number;
}

/** The webhook's id for a request: the `webhook-id` header, else the event id in its body. */
export function webhookIdOf(r: Received): string | undefined {
  const h = r.headers['webhook-id'];
  return (Array.isArray(h) ? h[0] : h) ?? r.json.data?.event_id;
}

/**
 * @example tally(accepted, reader.byEvent, receiver.received).duplicates === 0
 */
export function tally(accepted: ReadonlyMap<string, Accepted>, byEvent: ReadonlyMap<string, OutputRecord[]>, received: readonly Received[]): Tally {
  const hooked = new Set<string>();
  for (const r of received) {
    const id = webhookIdOf(r);
    if (id) hooked.add(id);
  }
  let records = 0;
  const staleWrong: string[] = [];
  for (const [id, rs] of byEvent) {
    records += rs.length;
    if (rs.some((r) => (r.status === 'Sent' && r.stale !== true) || (r.status === 'Delivered' && r.stale === true))) staleWrong.push(id);
  }
  const ids = [...accepted.keys()];
  return {
    accepted: accepted.size,
    lostInKafka: ids.filter((id) => !byEvent.has(id)),
    lostAtWebhook: ids.filter((id) => !hooked.has(id)),
    duplicates: records - byEvent.size,
    staleWrong,
    unanswered: [...byEvent.keys()].filter((id) => !accepted.has(id)),
    webhookRepeats: received.length - hooked.size,
  };
}

/** The drill's last line. */
export function finalLine(t: Tally): string {
  return `drill: accepted ${t.accepted}, lost ${t.lostInKafka.length} in Kafka, lost ${t.lostAtWebhook.length} at webhook, duplicates in Kafka ${t.duplicates}, stale wrong ${t.staleWrong.length}`;
}

export function passed(t: Tally): boolean {
  return t.lostInKafka.length === 0 && t.lostAtWebhook.length === 0 && t.duplicates === 0 && t.staleWrong.length === 0;
}

/**
 * Lines that say which ids went wrong and where they came from (the replica that answered 2xx
 * and when, in seconds since `t0`), a few per kind, for the investigation that follows a failure.
 */
export function explain(t: Tally, accepted: ReadonlyMap<string, Accepted>, byEvent: ReadonlyMap<string, OutputRecord[]>, t0: number): string[] {
  const secs = (ms: number) => `${((ms - t0) / 1000).toFixed(1)} s`;
  const who = (id: string) => {
    const a = accepted.get(id);
    return a ? `${a.status} of ${a.messageId} answered by replica ${a.n} at ${secs(a.at)}` : 'not answered 2xx';
  };
  const records = (id: string) =>
    (byEvent.get(id) ?? []).map((r) => `p${r.partition}@${r.offset} ${r.status} stale=${String(r.stale)} written at ${secs(r.timestamp)}`).join('; ');
  const pairOf = (id: string) => {
    const a = accepted.get(id);
    const other = a && [...accepted].find(([oid, o]) => o.messageId === a.messageId && oid !== id);
    return other ? ` | its ${other[1].status}: replica ${other[1].n} at ${secs(other[1].at)}; ${records(other[0]) || 'not in Kafka'}` : '';
  };
  const lines: string[] = [];
  const show = (label: string, ids: string[], detail: (id: string) => string) => {
    if (ids.length === 0) return;
    lines.push(`${label}: ${ids.length}`);
    for (const id of ids.slice(0, 5)) lines.push(`  ${id}: ${detail(id)}`);
  };
  show('lost in Kafka', t.lostInKafka, who);
  show('lost at webhook', t.lostAtWebhook, (id) => `${who(id)}; in Kafka: ${records(id) || 'no'}`);
  show('duplicated in Kafka', [...byEvent].filter(([, rs]) => rs.length > 1).map(([id]) => id), (id) => `${who(id)}; ${records(id)}`);
  show('stale wrong', t.staleWrong, (id) => `${who(id)}; ${records(id)}${pairOf(id)}`);
  show('in Kafka without a 2xx answer (given up, yet processed)', t.unanswered, records);
  return lines;
}
