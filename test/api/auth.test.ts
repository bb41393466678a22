// Token file parsing and bearer checks (pure; no servers).
import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/api/auth.js';
import { parseTokens, TokenFormatError } from '../../src/config/tokens.js';

const W = 'w'.repeat(24);
const R = 'r'.repeat(24);

describe('parseTokens', () => {
  it('reads one "<role> <token>" per line, with comments and blank lines', () => {
    expect(parseTokens(`# ops team\nwrite ${W}\n\n  read   ${R}  \n`)).toEqual([
      { role: 'write', token: W },
      { role: 'read', token: R },
    ]);
  });

  it('names every bad line, and never repeats a token in the message', () => {
    const secret = 's3cr3t-value-that-is-long';
    let message = '';
    try {
      parseTokens(`admin ${W}\nwrite short\nread\n${secret} write\nwrite ${W}\nwrite ${W}`);
    } catch (e) {
      expect(e).toBeInstanceOf(TokenFormatError);
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'invalid API tokens:',
      'line 1: role must be "read" or "write"',
      'line 2: token is shorter than 16 characters',
      'line 3: expected "<role> <token>" (role read or write), found 1 field(s)',
      'line 4: role must be "read" or "write" (role first, then token)',
      'line 6: the same token is listed twice',
    ]);
    expect(message).not.toContain(secret);
    expect(message).not.toContain(W);
  });

  it('refuses a file without any token', () => {
    expect(() => parseTokens('# nothing here\n')).toThrow(/no token given/);
  });
});

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier(parseTokens(`write ${W}\nread ${R}`));
  it('gives the role of a known bearer token and nothing otherwise', () => {
    expect(verifier.roleOf(`Bearer ${W}`)).toBe('write');
    expect(verifier.roleOf(`bearer ${R}`)).toBe('read');
    expect(verifier.roleOf(`Bearer ${W}x`)).toBeUndefined();
    expect(verifier.roleOf(`Basic ${W}`)).toBeUndefined();
    expect(verifier.roleOf(W)).toBeUndefined();
    expect(verifier.roleOf(undefined)).toBeUndefined();
  });
});
