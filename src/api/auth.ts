/**
 * Bearer tokens of the HTTP API. Token file / env format, one token per line:
 *
 *   # comment
 *   read  3f1c...   (may GET)
 *   write 9ab2...   (may also start, decide, release, cancel, ...)
 *
 * Tokens are compared in constant time (SHA-256 of both sides, crypto.timingSafeEqual, every token checked).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'read' | 'write';
export interface ApiToken {
  token: string;
  role: Role;
}

export const MIN_TOKEN_LENGTH = 16;

export class TokenFormatError extends Error {
  override readonly name = 'TokenFormatError';
}

/**
 * Reads the token file format: the tokens, and one problem per bad line ("line 3: ..."). A problem names the line,
 * never the token itself. Used by the API's own start-up and by the service's configuration check.
 */
export function readTokens(text: string): { tokens: ApiToken[]; problems: string[] } {
  const tokens: ApiToken[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) {
      problems.push(`${where}: expected "<role> <token>" (role read or write), found ${fields.length} field(s)`);
      return;
    }
    const [role, token] = fields as [string, string];
    if (role !== 'read' && role !== 'write') {
      problems.push(
        `${where}: role must be "read" or "write"${/^.{16,}$/.test(role) ? ' (role first, then token)' : ''}`,
      );
      return;
    }
    if (token.length < MIN_TOKEN_LENGTH) {
      problems.push(`${where}: token is shorter than ${MIN_TOKEN_LENGTH} characters`);
      return;
    }
    if (tokens.some((t) => t.token === token)) {
      problems.push(`${where}: the same token is listed twice`);
      return;
    }
    tokens.push({ role, token });
  });
  if (problems.length === 0 && tokens.length === 0)
    problems.push('no token given (lines "read <token>" or "write <token>")');
  return { tokens, problems };
}

/** Parses the token file format; throws TokenFormatError listing every bad line. */
export function parseTokens(text: string): ApiToken[] {
  const { tokens, problems } = readTokens(text);
  if (problems.length > 0) throw new TokenFormatError(`invalid API tokens:\n${problems.join('\n')}`);
  return tokens;
}

/** A fresh random token (256 bits, base64url). */
export const generateToken = () => randomBytes(32).toString('base64url');

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export class TokenVerifier {
  private readonly entries: { hash: Buffer; role: Role }[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => ({ hash: digest(t.token), role: t.role }));
  }

  /** The role of the bearer token in an Authorization header, or undefined when absent or unknown. */
  roleOf(authorization: string | undefined): Role | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1] ?? '');
    let found: Role | undefined;
    // Every entry is compared, so the time taken does not say which (or whether one) matched.
    for (const entry of this.entries) {
      if (timingSafeEqual(presented, entry.hash) && found === undefined) found = entry.role;
    }
    return found;
  }
}
