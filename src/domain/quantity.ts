/**
 * Kubernetes resource quantities ("2Gi", "512M", "1.5Gi", "129e6", "1E", "500u") as whole numbers, the way
 * k8s.io/apimachinery's resource.Quantity reads them (pkg/api/resource/quantity.go and suffix.go):
 *
 *   quantity ::= [+-] number suffix      number ::= digits | digits.digits | digits. | .digits
 *   suffix   ::= "" | n | u | m | k | M | G | T | P | E      (powers of 1000)
 *              | Ki | Mi | Gi | Ti | Pi | Ei                 (powers of 1024)
 *              | e<signed integer> | E<signed integer>       (decimal exponent: "12e3", "1E-3")
 *
 * A bare "E" is exa (10^18), "E3" is an exponent. The answer is Quantity.Value(): the exact value rounded up to the
 * next whole number away from zero ("100m" and "500u" are 1, "1.5" is 2), so a memory request is never under-counted.
 * Like Quantity, no value is larger than 2^63-1 in magnitude; values past 2^53 lose the last digits as a JS number.
 *
 * The arithmetic is exact (BigInt), not floating point: 1.1Gi must be the same byte count the scheduler sees.
 */

/** Suffix → power of ten. */
const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
/** Suffix → power of two. */
const BINARY_SUFFIX: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// The exponent form is tried before the bare suffix, so "1E3" is 1000 and "1E" alone is exa.
const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

const INT64_MAX = 2n ** 63n - 1n;
/** Past this many decimal digits a non-zero value is certainly above 2^63-1, and below minus it certainly under 1. */
const DIGITS_LIMIT = 40;

/**
 * Parses a quantity; answers undefined for text that is not one (empty, "1K", "1e", "12 Gi", "abc").
 * Undefined rather than an error or 0: every quantity a caller reads comes from an object the API server already
 * validated, so text that fails here means the field is absent in a shape we did not expect, and only the caller
 * knows whether that means "count nothing" or "use the guest memory instead".
 */
export function parseQuantity(text: string | number | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text === 'number') return Number.isFinite(text) ? roundAwayFromZero(text) : undefined;
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent, suffix = ''] = match;
  if (whole === '' && fraction === '') return undefined; // "." or a bare suffix: no number at all
  const binary = BINARY_SUFFIX[suffix];
  const decimal = exponent !== undefined ? Number(exponent) : (DECIMAL_SUFFIX[suffix] ?? 0);
  if (!Number.isSafeInteger(decimal)) return undefined; // Kubernetes refuses an exponent past int64 too
  const magnitude = wholeValue(whole + fraction, (binary === undefined ? decimal : 0) - fraction.length, binary ?? 0);
  return Number(sign === '-' ? -magnitude : magnitude);
}

/**
 * ceil(digits × 10^scale × 2^power2), capped at 2^63-1. The limits keep BigInt powers small: "1e999999999" is
 * answered by the cap without computing a billion-digit number.
 */
function wholeValue(digits: string, scale: number, power2: number): bigint {
  const significant = digits.replace(/^0+/, '');
  if (significant === '') return 0n;
  if (significant.length + scale > DIGITS_LIMIT) return INT64_MAX;
  if (significant.length + scale < -DIGITS_LIMIT) return 1n; // a tiny positive amount still asks for something
  const mantissa = BigInt(significant) * 2n ** BigInt(power2);
  if (scale >= 0) return min(mantissa * 10n ** BigInt(scale), INT64_MAX);
  const divisor = 10n ** BigInt(-scale);
  const quotient = mantissa / divisor;
  return min(mantissa % divisor === 0n ? quotient : quotient + 1n, INT64_MAX);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function roundAwayFromZero(value: number): number {
  return value < 0 ? -Math.ceil(-value) : Math.ceil(value);
}
