/** The recipient MSISDN ("919620838XXX", "+1 883-090-7XXX", " 91...") in E.164 where it can be derived. */
import { getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export interface Recipient {
  e164: string | null;
  /** Kaleyra's docs and some accounts mask digits with X; such a number has no E.164 form. */
  masked: boolean;
}

/**
 * @example toE164('919620838123', 'IN') // { e164: '+919620838123', masked: false }
 */
export function toE164(raw: string | null, isoCode: string | null): Recipient {
  if (raw === null) return { e164: null, masked: false };
  // A leading space is a "+" lost to form-decoding.
  const intl = /^\s*(\+|00)/.test(raw) || /^\s+\d/.test(raw);
  const compact = raw.replace(/[\s().\-/]/g, '').replace(/^\+/, '').replace(/^00/, '');
  const masked = /\d/.test(compact) && /[x*#]/i.test(compact);
  if (masked || !/^\d{6,15}$/.test(compact)) return { e164: null, masked };
  if (intl) return { e164: possible(`+${compact}`), masked };
  const country = callingCode(isoCode);
  if (country) {
    const [iso, cc] = country;
    // Kaleyra sends the MSISDN with its country code and no "+"; a national number also passes.
    if (compact.startsWith(cc)) {
      const withCc = parsePhoneNumberFromString(`+${compact}`);
      if (withCc?.isValid()) return { e164: withCc.number, masked };
    }
    const national = parsePhoneNumberFromString(compact, iso);
    if (national?.isPossible()) return { e164: national.number, masked };
    return { e164: null, masked };
  }
  return { e164: possible(`+${compact}`), masked };
}

function possible(candidate: string): string | null {
  const p = parsePhoneNumberFromString(candidate);
  return p?.isPossible() ? p.number : null;
}

function callingCode(isoCode: string | null): [CountryCode, string] | null {
  if (isoCode === null) return null;
  try {
    const iso = isoCode as CountryCode;
    return [iso, getCountryCallingCode(iso)];
  } catch {
    return null;
  }
}
