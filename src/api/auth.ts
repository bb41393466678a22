/**
 * The HTTP API's request authentication: the bearer token of a request against the configured tokens (read and
 * parsed by the configuration, src/config/tokens.ts). Tokens are compared in constant time (SHA-256 of both sides,
 * crypto.timingSafeEqual, every token checked).
 */
import { timingSafeEqual } from 'node:crypto';
import { tokenDigest, type ApiToken, type Role } from '../config/tokens.js';

export type { ApiToken, Role };

export class TokenVerifier {
  private readonly entries: { hash: Buffer; role: Role }[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => ({ hash: tokenDigest(t.token), role: t.role }));
  }

  /** The role of the bearer token in an Authorization header, or undefined when absent or unknown. */
  roleOf(authorization: string | undefined): Role | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = tokenDigest(match[1] ?? '');
    let found: Role | undefined;
    // Every entry is compared, so the time taken does not say which (or whether one) matched.
    for (const entry of this.entries) {
      if (timingSafeEqual(presented, entry.hash) && found === undefined) found = entry.role;
    }
    return found;
  }
}
