/**
 * Kaleyra's timestamps: "2022-04-05 09:55:50" (sent_time, no zone) and
 * "2022-04-05 08:55:50+00:00" (status_time), whose "+" turns into a space when a GET
 * callback's query string is form-decoded. Both become ISO-8601 UTC, or null.
 */

const STAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|\d{2}:?\d{2})?$/i;

interface Stamp {
  /** The wall-clock time read as if it were UTC (ms). */
  wall: number;
  /** The zone written in the stamp ("Z", "+05:30", "05:30" with its "+" lost), or undefined. */
  zone: string | undefined;
  /** Epoch stamps are instants, with no wall clock of their own. */
  epoch: boolean;
}

function parseStamp(value: string): Stamp | null {
  const v = value.trim();
  if (/^\d{10}(\d{3})?$/.test(v)) {
    return { wall: v.length === 10 ? Number(v) * 1000 : Number(v), zone: 'Z', epoch: true };
  }
  const m = STAMP.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s, ms);
  // Date.UTC rolls "2022-02-30" over into March: a date that does not come back out is not one.
  const check = new Date(wall);
  if (Number.isNaN(wall) || check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s > 59) {
    return null;
  }
  return { wall, zone, epoch: false };
}

/**
 * Parses a Kaleyra timestamp to ISO UTC. A stamp without a zone is read in `defaultZone`
 * (an IANA name such as "Asia/Kolkata", or "UTC"); with no zone declared (null) such a stamp
 * has no instant and gives null. Epoch seconds or milliseconds pass too.
 * @example toIsoUtc('2022-04-05 08:55:50 00:00') === '2022-04-05T08:55:50.000Z'
 */
export function toIsoUtc(value: string | null, defaultZone: string | null = 'UTC'): string | null {
  if (value === null) return null;
  const stamp = parseStamp(value);
  if (!stamp) return null;
  const { wall, zone } = stamp;
  let utc: number;
  if (zone === undefined) {
    if (defaultZone === null) return null;
    // The offset at the wall time read as UTC may be the other side of a DST change: look again.
    const first = zoneOffsetMs(defaultZone, wall);
    utc = wall - first;
    const second = zoneOffsetMs(defaultZone, utc);
    if (second !== first) utc = wall - second;
  } else if (zone.toUpperCase() === 'Z') {
    utc = wall;
  } else {
    // A zone with no sign is a "+" lost to form-decoding.
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.replace(/[^\d]/g, '');
    const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
    utc = wall - sign * offset;
  }
  const date = new Date(utc);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * The wall-clock time a stamp was written in, as ISO without an offset, whatever zone (known or
 * not) it was in: Kaleyra's zone-less sent_time kept as sent rather than guessed into UTC.
 * @example wallClockIso('2022-04-05 09:55:50') === '2022-04-05T09:55:50'
 */
export function wallClockIso(value: string | null): string | null {
  if (value === null) return null;
  const stamp = parseStamp(value);
  if (!stamp || stamp.epoch) return null;
  const iso = new Date(stamp.wall).toISOString();
  // Whole seconds stay whole: "…:50", not "…:50.000".
  return iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at (about) the given instant, in ms. */
export function zoneOffsetMs(zone: string, at: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/** Throws when `zone` is not a time zone this runtime knows. */
export function assertTimeZone(zone: string): void {
  new Intl.DateTimeFormat('en-US', { timeZone: zone });
}
