// A simulated migration's phase: setting it (with KubeVirt's phaseTransitionTimestamps) and reading when it entered one.
import type { KubeObject } from '../../k8s/client.js';
import { guarded, vmimPath, type SimContext } from '../context.js';
import { nowIso } from '../model.js';

export const vmiOf = (ctx: SimContext, m: KubeObject) =>
  ctx.informers.vmis.get(`${m.metadata.namespace}/${m.spec?.vmiName}`);

const transitions = (m: KubeObject, phase: string) => [
  ...(m.status?.phaseTransitionTimestamps ?? []),
  { phase, phaseTransitionTimestamp: nowIso() },
];

/** When the migration last entered `phase` (now if it never did). */
export function enteredAt(m: KubeObject, phase: string): number {
  const list: { phase: string; phaseTransitionTimestamp: string }[] = m.status?.phaseTransitionTimestamps ?? [];
  const entry = [...list].reverse().find((t) => t.phase === phase);
  return entry ? Date.parse(entry.phaseTransitionTimestamp) : Date.now();
}

export async function setPhase(ctx: SimContext, m: KubeObject, phase: string, extra: Record<string, unknown> = {}) {
  await ctx.client.patch(
    vmimPath(m.metadata.namespace ?? 'default', m.metadata.name, 'status'),
    guarded(m, { status: { ...extra, phase, phaseTransitionTimestamps: transitions(m, phase) } }),
  );
}
