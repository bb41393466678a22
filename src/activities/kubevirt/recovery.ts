// The repair runbook's VM steps: after the node is fenced, wait until a VM runs again elsewhere (a new VMI: another
// uid, on another node), and start a Manual VM there, which KubeVirt leaves off after its VMI failed.
import { ApplicationFailure } from '@temporalio/common';
import type { KubeClient } from '../../k8s/client.js';
import type { WaitControls } from '../../k8s/watch.js';
import { PREVIOUS_RUN_STRATEGY } from '../../domain/contract.js';
import { kube } from '../errors.js';
import { waitForVmi } from './lifecycle.js';
import { runStrategyOf, seconds, vmPath, vmiPhase } from './objects.js';

type Vm = { namespace: string; name: string };

export interface RecoveredResult {
  outcome: 'Running' | 'TimedOut';
  /** The VMI's phase when the wait ended (of the new VMI if there is one). */
  phase: string;
  nodeName?: string;
  uid?: string;
}

/**
 * Waits until the VM's VMI is another than `oldUid` and Running on another node than `node`, at most `timeoutMs`
 * from the first try. The old VMI (Failed, or still listed Running on the dead node) never counts.
 */
export async function waitForVmRecovered(
  client: KubeClient,
  input: WaitControls & Vm & { oldUid?: string; node: string; timeoutMs: number },
): Promise<RecoveredResult> {
  const isNew = (uid: string | undefined) => uid !== undefined && uid !== input.oldUid;
  return await waitForVmi<RecoveredResult>(client, input, `to run again off ${input.node}`, {
    reached: (vmi) => {
      const nodeName: string | undefined = vmi?.status?.nodeName;
      const running = vmiPhase(vmi) === 'Running' && isNew(vmi?.metadata.uid) && nodeName && nodeName !== input.node;
      return running ? { outcome: 'Running', phase: 'Running', nodeName, uid: vmi!.metadata.uid } : undefined;
    },
    timedOut: (vmi) => ({
      outcome: 'TimedOut',
      phase: isNew(vmi?.metadata.uid) ? vmiPhase(vmi) : `${vmiPhase(vmi)} (the old VMI)`,
      ...(vmi?.status?.nodeName && { nodeName: vmi.status.nodeName }),
    }),
  });
}

/**
 * Starts a Manual VM whose VMI failed with its node: runStrategy Always until a new VMI (another uid than `oldUid`)
 * exists, then Manual again (a Manual VM keeps a running VMI), the portable way restoreVm starts one too. Manual is
 * recorded in the VM's previous-run-strategy annotation first, so a retry after a crash, or the operator, knows what
 * to put back. A VM no longer Manual (its owner changed it) is left alone.
 */
export async function startVmElsewhere(
  client: KubeClient,
  input: Vm & { oldUid?: string; startTimeoutMs: number; signal?: AbortSignal },
): Promise<{ started: boolean }> {
  const { namespace: ns, name } = input;
  const what = `starting VM ${ns}/${name} elsewhere`;
  const vm = await kube(what, () => client.get(vmPath(ns, name)));
  const recorded = vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
  if (recorded === undefined && runStrategyOf(vm) !== 'Manual') return { started: false };
  if (recorded === undefined || vm.spec?.runStrategy !== 'Always') {
    await kube(what, () =>
      client.patch(vmPath(ns, name), {
        metadata: { annotations: { [PREVIOUS_RUN_STRATEGY]: recorded ?? 'Manual' } },
        spec: { runStrategy: 'Always', running: null },
      }),
    );
  }
  const created = await waitForVmi<boolean>(client, { ...input, name, timeoutMs: input.startTimeoutMs }, 'to start', {
    reached: (vmi) => (vmi && !vmi.metadata.deletionTimestamp && vmi.metadata.uid !== input.oldUid ? true : undefined),
    timedOut: () => false,
  });
  if (!created) {
    throw ApplicationFailure.create({
      message: `${what}: no new VMI within ${seconds(input.startTimeoutMs)} of runStrategy Always`,
      type: 'VmNotStarted',
    });
  }
  await kube(what, () =>
    client.patch(vmPath(ns, name), {
      metadata: { annotations: { [PREVIOUS_RUN_STRATEGY]: null } },
      spec: { runStrategy: recorded ?? 'Manual', running: null },
    }),
  );
  return { started: true };
}
