// Kubernetes resource quantities ("2Gi", "512M", "1.5G", "100m") as plain numbers.
const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** Parses a quantity; answers undefined for text that is not one, so callers choose their own fallback. */
export function parseQuantity(text: string | number | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text === 'number') return text;
  const match = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/.exec(text.trim());
  if (!match) return undefined;
  const factor = SUFFIX[match[2] ?? ''];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}
