// Kubernetes resource quantities read as resource.Quantity.Value() reads them: every suffix, the exponent form,
// fractions, and rounding up to whole bytes.
import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../src/domain/quantity.js';

const INT64_MAX = Number(2n ** 63n - 1n);

describe('parseQuantity', () => {
  it.each([
    ['plain number and sign', '0', 0],
    ['plain number and sign', '1024', 1024],
    ['plain number and sign', '+5', 5],
    ['plain number and sign', '-5', -5],
    ['plain number and sign', '007', 7],
    ['plain number and sign', ' 2Gi ', 2 * 2 ** 30],
    ['decimal suffix (powers of 1000)', '1k', 1e3],
    ['decimal suffix (powers of 1000)', '512M', 512e6],
    ['decimal suffix (powers of 1000)', '3G', 3e9],
    ['decimal suffix (powers of 1000)', '4T', 4e12],
    ['decimal suffix (powers of 1000)', '2P', 2e15],
    ['decimal suffix (powers of 1000)', '1E', 1e18],
    ['binary suffix (powers of 1024)', '1Ki', 1024],
    ['binary suffix (powers of 1024)', '256Mi', 256 * 2 ** 20],
    ['binary suffix (powers of 1024)', '16Gi', 16 * 2 ** 30],
    ['binary suffix (powers of 1024)', '2Ti', 2 * 2 ** 40],
    ['binary suffix (powers of 1024)', '1Pi', 2 ** 50],
    ['binary suffix (powers of 1024)', '1Ei', 2 ** 60],
    ['decimal exponent (e or E, signed integer)', '129e6', 129_000_000],
    ['decimal exponent (e or E, signed integer)', '12e3', 12_000],
    ['decimal exponent (e or E, signed integer)', '1E3', 1000],
    ['decimal exponent (e or E, signed integer)', '5e0', 5],
    ['decimal exponent (e or E, signed integer)', '15e-1', 2],
    ['decimal exponent (e or E, signed integer)', '1.5e+3', 1500],
    ['fraction, read exactly, every number form', '1.5Gi', 1_610_612_736],
    ['fraction, read exactly, every number form', '1.1Gi', 1_181_116_007], // 1181116006.4 bytes, rounded up
    ['fraction, read exactly, every number form', '0.5Mi', 524_288],
    ['fraction, read exactly, every number form', '.5k', 500],
    ['fraction, read exactly, every number form', '2.k', 2000],
    ['fraction, read exactly, every number form', '1.5G', 1.5e9],
    ['a fraction of a byte, rounded up away from zero', '100m', 1],
    ['a fraction of a byte, rounded up away from zero', '1500m', 2],
    ['a fraction of a byte, rounded up away from zero', '500u', 1],
    ['a fraction of a byte, rounded up away from zero', '1n', 1],
    ['a fraction of a byte, rounded up away from zero', '1.5', 2],
    ['a fraction of a byte, rounded up away from zero', '-1.5', -2],
    ['a fraction of a byte, rounded up away from zero', '1e-999', 1],
    ['a fraction of a byte, rounded up away from zero', '0.000m', 0],
    ['capped at 2^63-1 like Quantity, huge powers never computed', '10E', INT64_MAX],
    ['capped at 2^63-1 like Quantity, huge powers never computed', '1e999999999', INT64_MAX],
    ['capped at 2^63-1 like Quantity, huge powers never computed', '-1e999999999', -INT64_MAX],
  ])('%s: %j is %d bytes', (_form, text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it('passes numbers through, rounded up to whole bytes', () => {
    expect(parseQuantity(4096)).toBe(4096);
    expect(parseQuantity(0.25)).toBe(1);
    expect(parseQuantity(Number.NaN)).toBeUndefined();
  });

  it.each(['', ' ', '.', 'Gi', 'abc', '1K', '1e', '1Gib', '12 Gi', '1..5', '1e1.5', '0x10', '1E+'])(
    'answers undefined for text that is not a quantity: %j',
    (text) => {
      expect(parseQuantity(text)).toBeUndefined();
    },
  );

  it('answers undefined for nothing', () => {
    expect(parseQuantity(undefined)).toBeUndefined();
  });
});
