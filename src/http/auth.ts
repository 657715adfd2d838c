/** Checks the static credentials a callback profile adds to each request. */
import { timingSafeEqual } from 'node:crypto';
import type { ProfileConfig } from '../route/define-routes.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Null when the request carries what the profile requires, else why not (never the secret). */
export function checkProfileAuth(profile: ProfileConfig, header: (name: string) => string | undefined): string | null {
  for (const [name, expected] of Object.entries(profile.headers ?? {})) {
    const got = header(name);
    if (got === undefined) return `header ${name} is missing`;
    if (!same(got, expected)) return `header ${name} does not match`;
  }
  const authz = header('authorization') ?? '';
  if (profile.basicAuth) {
    const m = /^Basic\s+(.+)$/i.exec(authz);
    const expected = `${profile.basicAuth.username}:${profile.basicAuth.password}`;
    if (!m || !same(Buffer.from(m[1]!, 'base64').toString('utf8'), expected)) return 'basic credentials are missing or wrong';
  }
  if (profile.bearerToken) {
    const m = /^Bearer\s+(.+)$/i.exec(authz);
    if (!m || !same(m[1]!.trim(), profile.bearerToken)) return 'bearer token is missing or wrong';
  }
  return null;
}
