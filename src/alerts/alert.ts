/**
 * The operational alerts' vocabulary: each alert type, how severe it is, and the condition it
 * belongs to (an alert and its all-clear share one, so they are throttled together).
 */

/** Every alert type, with its severity and condition. */
export const ALERT_TYPES = {
  'delivery.dead_lettered': { severity: 'critical', condition: 'delivery.dead_lettered' },
  'destination.disabled': { severity: 'critical', condition: 'destination.disabled' },
  'destination.circuit_opened': { severity: 'warning', condition: 'destination.circuit' },
  'destination.circuit_closed': { severity: 'info', condition: 'destination.circuit' },
  'spool.commit_failing': { severity: 'critical', condition: 'spool.commit' },
  'spool.commit_recovered': { severity: 'info', condition: 'spool.commit' },
  'deliveries.oldest_pending': { severity: 'warning', condition: 'deliveries.oldest_pending' },
  'deliveries.oldest_pending_resolved': { severity: 'info', condition: 'deliveries.oldest_pending' },
} as const satisfies Record<string, { severity: 'critical' | 'warning' | 'info'; condition: string }>;

export type AlertType = keyof typeof ALERT_TYPES;
export type AlertSeverity = (typeof ALERT_TYPES)[AlertType]['severity'];

/** Something the on-call should hear about. */
export interface Alert {
  type: AlertType;
  /** The destination it is about (`webhook:crm`), or null (the spool). */
  destination: string | null;
  /** One line for a person. */
  summary: string;
  /** Type-specific facts (event id, error code, age...): never a payload or a recipient number. */
  details: Record<string, unknown>;
  /** When it happened (ms epoch). */
  at: number;
}

/**
 * The throttling key of an alert: its condition and destination, so a flapping circuit
 * (opened, closed, opened...) counts as one stream of alerts.
 * @example alertKey({ type: 'destination.circuit_closed', destination: 'webhook:crm', ... }) // 'destination.circuit webhook:crm'
 */
export function alertKey(alert: Pick<Alert, 'type' | 'destination'>): string {
  return `${ALERT_TYPES[alert.type].condition} ${alert.destination ?? ''}`.trimEnd();
}
