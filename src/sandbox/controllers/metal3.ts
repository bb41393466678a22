// Simulated Metal3 (baremetal-operator + Ironic): spec.online and reboot annotations drive the machine's power
// through its BMC after a delay; status.poweredOn reports it. Knobs make the BMC fail or vanish.
import type { KubeObject } from '../../k8s/client.js';
import { bmhPath, guarded, type SimContext } from '../context.js';
import { HW, KNOB, annotation, durationKnob, isTrue } from '../model.js';
import { machinePower, setMachinePower } from './kubelet.js';

const REBOOT_PREFIX = 'reboot.metal3.io';

/** Desired power: online, and no reboot annotation holding the host down. */
export function desiredPower(bmh: KubeObject): boolean {
  const held = Object.keys(bmh.metadata.annotations ?? {}).some(
    (k) => k === REBOOT_PREFIX || k.startsWith(`${REBOOT_PREFIX}/`),
  );
  return bmh.spec?.online === true && !held;
}

const pendingSince = new Map<string, { want: boolean; at: number }>();

export async function reconcileBmh(ctx: SimContext, key: string): Promise<void> {
  const bmh = ctx.informers.bmhs.get(key);
  if (!bmh) return;
  const nodeName = annotation(bmh, HW.bmhNode);
  const want = desiredPower(bmh);
  const actual = nodeName ? machinePower(ctx, nodeName) : bmh.status?.poweredOn;
  const path = bmhPath(bmh.metadata.namespace ?? 'default', bmh.metadata.name, 'status');

  if (want !== actual) {
    const failure = isTrue(bmh, KNOB.bmcUnreachable)
      ? 'Failed to get power state for node: BMC unreachable (connection timed out)'
      : isTrue(bmh, KNOB.powerFails)
        ? `Failed to set power state to ${want ? 'power on' : 'power off'}: BMC returned an error`
        : undefined;
    if (failure) {
      pendingSince.delete(key);
      if (bmh.status?.errorMessage !== failure) {
        await ctx.client.patch(
          path,
          guarded(bmh, {
            status: {
              ...bmhStatus(bmh, actual === true),
              operationalStatus: 'error',
              errorType: 'power management error',
              errorMessage: failure,
              errorCount: (bmh.status?.errorCount ?? 0) + 1,
            },
          }),
        );
      }
      return;
    }
    const pending = pendingSince.get(key);
    const since = pending?.want === want ? pending.at : Date.now();
    pendingSince.set(key, { want, at: since });
    const due = since + durationKnob(bmh, KNOB.powerDelay, ctx.timing.powerDelayMs) - Date.now();
    if (due > 0) return ctx.queues.bmh.add(key, due);
    if (nodeName) await setMachinePower(ctx, nodeName, want);
    pendingSince.delete(key);
  }
  const poweredOn = want === actual ? actual : want;
  const s = bmh.status ?? {};
  if (
    s.operationalStatus !== 'OK' ||
    s.poweredOn !== poweredOn ||
    s.errorMessage !== '' ||
    s.errorType !== undefined ||
    !s.provisioning?.ID
  ) {
    await ctx.client.patch(path, guarded(bmh, { status: bmhStatus(bmh, poweredOn === true) }));
  }
}

/**
 * A status the real BareMetalHost CRD accepts (metal3-io/baremetal-operator,
 * config/base/crds/bases/metal3.io_baremetalhosts.yaml): errorCount, errorMessage, operationalStatus, poweredOn and
 * provisioning (with ID and state) are required; errorType is an enum, so "no error" is the field left out (a merge
 * patch null removes it), as the operator's `omitempty` does.
 */
export function bmhStatus(bmh: KubeObject, poweredOn: boolean): Record<string, unknown> {
  return {
    operationalStatus: 'OK',
    errorType: null,
    errorMessage: '',
    errorCount: 0,
    poweredOn,
    provisioning: {
      ...(bmh.status?.provisioning ?? {}),
      // Ironic's node UUID in real life; the sandbox's "Ironic" reuses the host's uid.
      ID: bmh.status?.provisioning?.ID || bmh.metadata.uid || bmh.metadata.name,
      state: bmh.status?.provisioning?.state ?? 'provisioned',
    },
  };
}
