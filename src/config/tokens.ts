/**
 * Bearer tokens of the HTTP API. Token file / env format, one token per line:
 *
 *   # comment
 *   read  3f1c...   (may GET)
 *   write 9ab2...   (may also start, decide, release, cancel, ...)
 *
 * This module reads the format and says where the tokens come from (PITSTOP_API_TOKENS_FILE, else
 * PITSTOP_API_TOKENS); the API's request hook (src/api/auth.ts) compares what a request presents against them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { unreadable, type Getter } from './read.js';

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
 * never the token itself.
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

/**
 * The API tokens from PITSTOP_API_TOKENS_FILE, else PITSTOP_API_TOKENS; undefined when neither is set. Each problem
 * is added to `problems`, prefixed with where it came from.
 */
export function readApiTokens(get: Getter, problems: string[]): ApiToken[] | undefined {
  const file = get('PITSTOP_API_TOKENS_FILE');
  const text = get('PITSTOP_API_TOKENS');
  let source: string;
  let content: string;
  if (file) {
    const why = unreadable(file);
    if (why) {
      problems.push(`PITSTOP_API_TOKENS_FILE ${file} cannot be read (${why})`);
      return [];
    }
    source = `PITSTOP_API_TOKENS_FILE ${file}`;
    content = readFileSync(file, 'utf8');
  } else if (text) {
    source = 'PITSTOP_API_TOKENS';
    content = text;
  } else return undefined;
  const read = readTokens(content);
  problems.push(...read.problems.map((problem) => `${source}: ${problem}`));
  return read.tokens;
}

/** A fresh random token (256 bits, base64url). */
export const generateToken = () => randomBytes(32).toString('base64url');

/** SHA-256 of a token: what a verifier keeps and compares, so equal-length digests can be compared in constant time. */
export const tokenDigest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
