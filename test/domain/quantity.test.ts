// Kubernetes resource quantities read as resource.Quantity.Value() reads them: every suffix, the exponent form,
// fractions, and rounding up to whole bytes.
import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../src/domain/quantity.js';

describe('parseQuantity', () => {
  it('reads plain numbers and signs', () => {
    expect(parseQuantity('0')).toBe(0);
    expect(parseQuantity('1024')).toBe(1024);
    expect(parseQuantity('+5')).toBe(5);
    expect(parseQuantity('-5')).toBe(-5);
    expect(parseQuantity('007')).toBe(7);
    expect(parseQuantity(' 2Gi ')).toBe(2 * 2 ** 30);
  });

  it('reads every decimal suffix as a power of 1000', () => {
    expect(parseQuantity('1k')).toBe(1e3);
    expect(parseQuantity('512M')).toBe(512e6);
    expect(parseQuantity('3G')).toBe(3e9);
    expect(parseQuantity('4T')).toBe(4e12);
    expect(parseQuantity('2P')).toBe(2e15);
    expect(parseQuantity('1E')).toBe(1e18);
  });

  it('reads every binary suffix as a power of 1024', () => {
    expect(parseQuantity('1Ki')).toBe(1024);
    expect(parseQuantity('256Mi')).toBe(256 * 2 ** 20);
    expect(parseQuantity('16Gi')).toBe(16 * 2 ** 30);
    expect(parseQuantity('2Ti')).toBe(2 * 2 ** 40);
    expect(parseQuantity('1Pi')).toBe(2 ** 50);
    expect(parseQuantity('1Ei')).toBe(2 ** 60);
  });

  it('reads the decimal exponent form, e or E with a signed integer', () => {
    expect(parseQuantity('129e6')).toBe(129_000_000);
    expect(parseQuantity('12e3')).toBe(12_000);
    expect(parseQuantity('1E3')).toBe(1000);
    expect(parseQuantity('5e0')).toBe(5);
    expect(parseQuantity('15e-1')).toBe(2);
    expect(parseQuantity('1.5e+3')).toBe(1500);
  });

  it('reads fractions exactly, in every number form', () => {
    expect(parseQuantity('1.5Gi')).toBe(1_610_612_736);
    expect(parseQuantity('1.1Gi')).toBe(1_181_116_007); // 1181116006.4 bytes, rounded up
    expect(parseQuantity('0.5Mi')).toBe(524_288);
    expect(parseQuantity('.5k')).toBe(500);
    expect(parseQuantity('2.k')).toBe(2000);
    expect(parseQuantity('1.5G')).toBe(1.5e9);
  });

  it('rounds a fraction of a byte up to the next whole byte, away from zero', () => {
    expect(parseQuantity('100m')).toBe(1);
    expect(parseQuantity('1500m')).toBe(2);
    expect(parseQuantity('500u')).toBe(1);
    expect(parseQuantity('1n')).toBe(1);
    expect(parseQuantity('1.5')).toBe(2);
    expect(parseQuantity('-1.5')).toBe(-2);
    expect(parseQuantity('1e-999')).toBe(1);
    expect(parseQuantity('0.000m')).toBe(0);
  });

  it('caps at 2^63-1 like Quantity, without computing huge powers', () => {
    expect(parseQuantity('10E')).toBe(Number(2n ** 63n - 1n));
    expect(parseQuantity('1e999999999')).toBe(Number(2n ** 63n - 1n));
    expect(parseQuantity('-1e999999999')).toBe(-Number(2n ** 63n - 1n));
  });

  it('passes numbers through, rounded up to whole bytes', () => {
    expect(parseQuantity(4096)).toBe(4096);
    expect(parseQuantity(0.25)).toBe(1);
    expect(parseQuantity(Number.NaN)).toBeUndefined();
  });

  it('answers undefined for text that is not a quantity, and for nothing', () => {
    for (const text of ['', ' ', '.', 'Gi', 'abc', '1K', '1e', '1Gib', '12 Gi', '1..5', '1e1.5', '0x10', '1E+']) {
      expect(parseQuantity(text), text).toBeUndefined();
    }
    expect(parseQuantity(undefined)).toBeUndefined();
  });
});
